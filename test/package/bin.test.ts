/**
 * The README's `npx dgx-spark-vllm ...` lines on a clone, as a user runs them: with the machine's
 * own node and npx first on PATH (20 here and in CI; the npm scripts' Node 24 only runs the CLI),
 * after every way the clone gets built. Issue #26: `npm run build` (and so `npm test`) rewrote
 * dist/src/cli/main.js without its execute bit and every later `npx dgx-spark-vllm` failed with
 * "Permission denied"; and each `npx` printed `npm warn EBADENGINE` twice on Node 20.
 *
 * The builds run in a scratch copy (package.json, tsconfig.json, scripts/, src/, stacks/, a link to
 * node_modules) so the dist/ the other tests read is left alone; npx gets its own npm cache there.
 */
import * as assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { PKG, ROOT, show } from "./support";

const IN_CI = process.env.CI === "true";
const BIN = PKG.bin["dgx-spark-vllm"] as string;

test("every script that compiles gives the bin its execute bit, or goes through `npm run build`", () => {
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  for (const [name, cmd] of Object.entries(scripts)) {
    if (/\btsc\b/.test(cmd))
      assert.match(cmd, /\btsc -p tsconfig\.json && node scripts\/bin-mode\.js\b/, `${name}: ${cmd}`);
  }
  for (const name of ["test", "test:unit", "test:package", "rehearse:hosts", "rehearse:lifecycle"])
    assert.match(scripts[name] ?? "", /\bnpm run build\b/, `${name} builds through npm run build`);
});

/** The user's shell: PATH without any node_modules/.bin (npm run put ours first), no npm_* variables. */
function userEnv(cache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith("npm_")) env[k] = v;
  env.PATH = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((d) => !d.split(path.sep).includes("node_modules"))
    .join(path.delimiter);
  env.npm_config_cache = cache;
  env.npm_config_update_notifier = "false";
  return env;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
}

/** The machine's own node (the one a user's `npx` runs under), or why there is none. */
function machineNode(env: NodeJS.ProcessEnv): { version?: string; why?: string } {
  const r = run("node", ["--version"], os.tmpdir(), env);
  if (r.status === 0) return { version: r.stdout.trim() };
  return { why: `no node outside node_modules on PATH (${r.error?.message ?? show(r)})` };
}

test("the bin runs through npx, without an npm warning, after prepare and after every rebuild", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dsv-bin-"));
  try {
    for (const f of ["package.json", "tsconfig.json"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    for (const d of ["scripts", "src", "stacks"]) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    const env = userEnv(path.join(dir, ".npm"));
    const machine = machineNode(env);
    if (!machine.version) {
      assert.ok(!IN_CI, `CI=true: ${machine.why}`);
      t.skip(`npx bin test skipped: ${machine.why}; install Node.js to run it (in CI this fails)`);
      return;
    }
    t.diagnostic(`machine node ${machine.version}`);
    const mode = () => fs.statSync(path.join(dir, BIN)).mode & 0o777;
    const npx = (args: string[]) => {
      const r = run("npx", ["dgx-spark-vllm", ...args], dir, env);
      assert.equal(r.status, 0, `npx dgx-spark-vllm ${args.join(" ")}: ${show(r)}`);
      assert.doesNotMatch(r.stderr, /npm warn/i, `npx dgx-spark-vllm ${args.join(" ")} warned`);
      return r.stdout;
    };
    const npm = (script: string) => {
      const r = run("npm", ["run", script], dir, env);
      assert.equal(r.status, 0, `npm run ${script}: ${show(r)}`);
      assert.doesNotMatch(r.stderr, /npm warn/i, `npm run ${script} warned`);
    };

    // What npm ci runs on a fresh clone: dist/ does not exist yet.
    npm("prepare");
    assert.equal(mode() & 0o111, 0o111, `after prepare ${BIN} is ${mode().toString(8)}`);
    assert.equal(npx(["--version"]).trim(), PKG.version);
    // npm test and npm run test:unit rebuild (rm -rf dist first); npx's link from the first run stays.
    npm("build");
    assert.equal(mode() & 0o111, 0o111, `after build ${BIN} is ${mode().toString(8)}`);
    assert.equal(npx(["--version"]).trim(), PKG.version);
    const plan = npx(["plan", "--stack", "256k"]);
    assert.match(plan, /^dgx-spark-vllm plan - .*Pulumi\.256k\.yaml$/m);
    assert.match(plan, /max-model-len 262144\b/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
