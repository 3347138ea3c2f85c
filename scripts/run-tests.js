#!/usr/bin/env node
/*
 * Runs the compiled tests with node's test runner.
 *   node scripts/run-tests.js          every test under dist/test (what CI runs: `npm test`)
 *   node scripts/run-tests.js unit     the fast loop: everything but the rehearsals (hosts, lifecycle, engine), which need
 *                                      root, network namespaces and a Docker engine, and the consumer
 *                                      check (test/package/consumer.test.ts: npm install, tsc)
 *   node scripts/run-tests.js FILE...  only these compiled test files
 * Test files are found by pattern, so a new test folder is in both loops without editing this.
 */

const { globSync } = require("node:fs");
const { spawnSync } = require("node:child_process");

// test/engine: the real Pulumi engine on the simulated Sparks (root, Docker, the engine's binaries).
const REHEARSALS = /^dist\/test\/(rehearsal|lifecycle|engine)\//;
// Not in the fast loop either: installs the packed tarball into a fresh project (npm registry, ~40 s).
const SLOW = /^dist\/test\/package\/consumer\.test\.js$/;
const args = process.argv.slice(2);
const mode = args[0] === "unit" ? "unit" : "all";
const files =
  args.length > 0 && mode === "all"
    ? args
    : globSync("dist/test/**/*.test.js")
        .sort()
        .filter((f) => mode === "all" || !(REHEARSALS.test(f) || SLOW.test(f)));
if (files.length === 0) {
  console.error("run-tests: no compiled tests under dist/test: run `npm run build` first");
  process.exit(2);
}
const r = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
