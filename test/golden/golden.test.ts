/**
 * Golden copies of what the library renders for the three shipped stacks: the plan JSON (with
 * each script replaced by a reference to its file) and every rendered script as its own file.
 * A change to the plan or to any script shows up as a reviewable diff under test/golden/.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:unit` and review the diff.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { componentScripts, GOLDEN_STACKS, ROOT, splitPlan, stackPlan } from "../support/rendered";

const UPDATE = process.env.UPDATE_GOLDEN === "1";
const GOLDEN = join(ROOT, "test", "golden");

function compareDir(dir: string, files: Map<string, string>): void {
  if (UPDATE) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of files) writeFileSync(join(dir, f), text);
    return;
  }
  assert.ok(existsSync(dir), `${dir} is missing: run UPDATE_GOLDEN=1 npm run test:unit`);
  assert.deepEqual(readdirSync(dir).sort(), [...files.keys()].sort(), `the set of golden files in ${dir}`);
  for (const [f, text] of files)
    assert.equal(text, readFileSync(join(dir, f), "utf8"), `${dir}/${f} differs from what is rendered now`);
}

describe("golden copies of the rendered plan and scripts", () => {
  for (const stack of GOLDEN_STACKS) {
    it(`stack ${stack}: plan JSON (scripts by reference) is unchanged`, () => {
      const { skeleton } = splitPlan(stackPlan(stack));
      const text = JSON.stringify(skeleton, null, 2) + "\n";
      const file = join(GOLDEN, stack, "plan.json");
      if (UPDATE) {
        mkdirSync(join(GOLDEN, stack), { recursive: true });
        writeFileSync(file, text);
        return;
      }
      assert.equal(text, readFileSync(file, "utf8"), `${file} differs from what plan --json prints now`);
    });
    it(`stack ${stack}: every rendered script is unchanged`, () => {
      const plan = stackPlan(stack);
      const all = new Map([...splitPlan(plan).scripts, ...componentScripts(plan)]);
      compareDir(join(GOLDEN, stack, "scripts"), all);
    });
  }
});
