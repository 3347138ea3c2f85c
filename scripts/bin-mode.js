#!/usr/bin/env node
/*
 * Gives every file package.json's "bin" names its execute bits, after tsc wrote it (tsc writes
 * plain 0644 files). Run by `build` and `prepare`: `build` removes dist/ first, and `npx
 * dgx-spark-vllm` in this clone runs dist/src/cli/main.js through a link npm made (and chmodded)
 * once, so without this every rebuild left it "Permission denied" (issue #26).
 * Fails, naming the file, when a bin is missing (a build that did not produce it).
 */
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const { bin } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const files = typeof bin === "string" ? [bin] : Object.values(bin ?? {});
for (const f of files) {
  const p = path.join(root, f);
  if (!fs.existsSync(p)) {
    console.error(`bin-mode: ${f} (package.json "bin") does not exist: the build did not write it`);
    process.exit(1);
  }
  fs.chmodSync(p, fs.statSync(p).mode | 0o111);
}
