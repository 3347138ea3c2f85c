/**
 * docs/exposure.md's tables are the plan's own (src/plan/exposure.ts) for the configs they name:
 * regenerate them with `UPDATE_GOLDEN=1 node --test dist/test/docs/exposure.test.js` after a change.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { readStackFile } from "../../src/config";
import { planDeploymentFromInput } from "../../src/plan";
import { exposureMarkdown } from "../../src/plan/exposure";
import { deploymentExposure } from "../../src/plan/replicas";
import { ROOT } from "../support/rendered";

const KEY = "docs-exposure-key-0f3a9c2e7b1d5846";
const DOC = join(ROOT, "docs", "exposure.md");

function stack(name: string, edit: (c: Record<string, any>) => void): Record<string, any> {
  const c = readStackFile(join(ROOT, "stacks", `Pulumi.${name}.yaml`)) as Record<string, any>;
  c.serving.apiKey = KEY;
  edit(c);
  return c;
}

/** Each generated table: its marker in the doc and the config it is planned from. */
const TABLES: Record<string, () => Record<string, any>> = {
  "1m-observability": () =>
    stack("1m", (c) => {
      c.observability = { enabled: true };
      c.nodes[0].ssh.host = "192.168.1.10";
      c.nodes[1].ssh.host = "192.168.1.11";
    }),
  "1m-ray": () => stack("1m", (c) => (c.serving.launcher = "ray")),
  "2x2-replicas-router": () =>
    stack("2x2-replicas", (c) => {
      c.serving.router = { enabled: true };
    }),
};

function table(name: string): string {
  const d = planDeploymentFromInput(TABLES[name]!());
  const rows = deploymentExposure(d);
  return exposureMarkdown(name === "2x2-replicas-router" ? (d.router?.exposure ?? []) : rows);
}

it("docs/exposure.md's port tables are what the plan gives for their configs", () => {
  let doc = fs.readFileSync(DOC, "utf8");
  for (const name of Object.keys(TABLES)) {
    const re = new RegExp(`(<!-- exposure-table: ${name} -->\\n)[\\s\\S]*?(<!-- /exposure-table -->)`);
    assert.match(doc, re, `docs/exposure.md has no <!-- exposure-table: ${name} --> block`);
    const want = table(name);
    if (process.env.UPDATE_GOLDEN === "1") doc = doc.replace(re, (_m, a, b) => `${a}${want}\n${b}`);
    else
      assert.equal(
        re.exec(doc)?.[0].split("\n").slice(1, -1).join("\n"),
        want,
        `table ${name} is stale (UPDATE_GOLDEN=1 rewrites it)`,
      );
  }
  if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(DOC, doc);
});
