/** The Pulumi program (src/program.ts) with an invalid stack config, under mocks: one RunError listing every problem. */
import "./support";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { REPO_ROOT } from "./support";

const stack = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.1m.yaml"), "utf8")).config as Record<
  string,
  any
>;
stack["dgx-spark-vllm:serving"] = { profile: "1m", launcher: "slurm" }; // a shape error
stack["dgx-spark-vllm:nodes"][1].name = "spark-head"; // a cross-field error
stack["dgx-spark-vllm:srving"] = { port: 8000 }; // a key that is no setting
const cfg: Record<string, string> = {};
for (const [k, v] of Object.entries(stack)) cfg[k] = JSON.stringify(v);
/** A token-shaped fake, assembled at run time so no token-shaped text is committed. */
const FAKE = ["sk", "-", "P".repeat(10), "9".repeat(10), "-q7w3e5r1t"].join("");
cfg["dgx-spark-vllm:apiKey"] = FAKE;
pulumi.runtime.setAllConfig(cfg, ["dgx-spark-vllm:apiKey"]);

test("invalid config: the program throws one pulumi.RunError with every problem, no secret in it", () => {
  let thrown: unknown;
  try {
    require("../../src/program");
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, "the program accepted an invalid config");
  assert.ok(pulumi.RunError.isInstance(thrown), `not a RunError: ${(thrown as Error)?.stack}`);
  const message = (thrown as Error).message;
  assert.match(message, /^Invalid dgx-spark-vllm config \(6 problems; nothing was created or changed\):/);
  assert.match(message, /- dgx-spark-vllm:srving: is not a known setting \(did you mean 'dgx-spark-vllm:serving'\?\)/);
  assert.match(message, /- serving\.launcher: must be 'mp' or 'ray'/);
  assert.match(message, /- nodes\[1\]\.name: name 'spark-head' is already used by nodes\[0\]/);
  // The secrets pulumi up needs, in the same run as the shape errors.
  assert.match(message, /- nodes\[0\]\.ssh\.privateKey: is not set/);
  assert.match(message, /- nodes\[1\]\.ssh\.privateKey: is not set/);
  assert.match(message, /- model\.hfToken: is not set/);
  assert.ok(!message.includes(FAKE.slice(3)), "the message shows the API key");
});
