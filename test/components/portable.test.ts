/**
 * Portable inputs: the same program, with the package installed in two different places (two
 * checkouts, a CI runner and a laptop), registers byte-identical inputs for every resource. The
 * built package is copied into each project's node_modules, the program runs there under Pulumi
 * mocks and prints every resource's inputs as the SDK sends them to the engine.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { baseConfig } from "../support/fixtures";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** A project folder with the built package copied into node_modules and its dependencies linked. */
function project(dir: string): void {
  const pkg = path.join(dir, "node_modules", "dgx-spark-vllm");
  fs.mkdirSync(pkg, { recursive: true });
  for (const part of ["package.json", path.join("dist", "src"), "docker", path.join("src", "host")])
    fs.cpSync(path.join(ROOT, part), path.join(pkg, part), { recursive: true });
  for (const dep of ["@pulumi", "yaml", "zod"])
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules", dep)), path.join(dir, "node_modules", dep));
  fs.writeFileSync(path.join(dir, "index.js"), PROGRAM);
}

// The user's program: mocks that record what reaches the engine, then the cluster.
const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
pulumi.runtime.setMocks({
  newResource: (a) => ({ id: a.name + "-id", state: { ...a.inputs, stdout: "sha256:1\\n", repoDigest: "" } }),
  call: () => { throw new Error("no calls"); },
}, "portable", "test", false);
const seen = {};
const monitor = pulumi.runtime.getMonitor();
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, cb) => {
  seen[req.getName()] = { type: req.getType(), provider: req.getProvider(), inputs: req.getObject().toJavaScript() };
  return register(req, cb);
};
const { DeepSeekV4Cluster, loadClusterConfig } = require("dgx-spark-vllm");
const { config } = loadClusterConfig(${JSON.stringify(baseConfig())}, "deploy");
new DeepSeekV4Cluster("dsv4", { config });
// Print once registrations have stopped arriving, by name.
let count = -1;
const poll = setInterval(() => {
  const n = Object.keys(seen).length;
  if (n !== count) { count = n; return; }
  clearInterval(poll);
  const sorted = Object.fromEntries(Object.keys(seen).sort().map((k) => [k, seen[k]]));
  process.stdout.write("\\nRESULT " + JSON.stringify(sorted) + "\\n");
}, 300);
`;

test("the build context holds no symlink (the docker provider's context digest hashes a symlink's resolved path, which would name the install location)", () => {
  const links: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) links.push(path.relative(ROOT, p));
      else if (e.isDirectory()) walk(p);
    }
  };
  walk(path.join(ROOT, "docker"));
  assert.deepEqual(links, []);
});

test("the same program from two install locations registers byte-identical inputs for every resource", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dsv-portable-"));
  try {
    const a = path.join(tmp, "checkout-a");
    const b = path.join(tmp, "elsewhere", "deeper", "checkout-b");
    const out: string[] = [];
    for (const dir of [a, b]) {
      project(dir);
      const r = spawnSync(process.execPath, ["index.js"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      // The program's own log lines (the plan's notes) come first.
      const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
      assert.ok(line, r.stdout);
      out.push(line.slice("RESULT ".length));
    }
    const [first, second] = out as [string, string];
    const resources = JSON.parse(first) as Record<string, { type: string; inputs: Record<string, any> }>;
    assert.ok(Object.keys(resources).length > 40, `only ${Object.keys(resources).length} resources`);
    assert.ok(!first.includes(tmp) && !second.includes(tmp), "an input names where the program or package lives");
    const build = resources["dsv4-image-build"];
    assert.equal(build?.type, "docker:index/image:Image");
    // The docker provider reads these relative to the program's folder; the package ships docker/.
    assert.equal(build?.inputs.build.context, "node_modules/dgx-spark-vllm/docker");
    assert.equal(build?.inputs.build.dockerfile, "node_modules/dgx-spark-vllm/docker/Dockerfile");
    assert.ok(fs.existsSync(path.join(a, build?.inputs.build.dockerfile)));
    // Every resource, byte for byte.
    const other = JSON.parse(second) as Record<string, unknown>;
    assert.deepEqual(Object.keys(other).sort(), Object.keys(resources).sort());
    for (const name of Object.keys(resources))
      assert.equal(JSON.stringify(other[name]), JSON.stringify(resources[name]), name);
    assert.equal(second, first);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
