/** The examples type-check against the package (tsconfig paths map "dgx-spark-vllm" to src/index.ts). */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

for (const ex of ["cluster-in-code", "profile-override"]) {
  test(`examples/${ex} type-checks against the package and is a Pulumi project`, () => {
    const dir = path.join(ROOT, "examples", ex);
    for (const f of ["Pulumi.yaml", "index.ts", "package.json", "README.md"])
      assert.ok(fs.existsSync(path.join(dir, f)), `${ex}/${f} missing`);
    const r = spawnSync(process.execPath, [TSC, "-p", path.join(dir, "tsconfig.json")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}
