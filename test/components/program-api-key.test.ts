/**
 * The Pulumi program (src/program.ts) under mocks with a stack whose `apiKey` secret is too short:
 * the config check sees the secret's value, so the run stops with serving.apiKey named before any
 * resource is registered, and the key is not in the message.
 */
import "./support";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { REPO_ROOT, recorded } from "./support";

const stack = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.1m.yaml"), "utf8")).config as Record<
  string,
  any
>;
const cfg: Record<string, string> = {};
for (const [k, v] of Object.entries(stack)) cfg[k] = JSON.stringify(v);
const SHORT = ["sk", "q7w3e5r1t9"].join("-");
cfg["dgx-spark-vllm:apiKey"] = SHORT;
// The other two secrets only need to be present (nothing reads them before the config check fails).
cfg["dgx-spark-vllm:hfToken"] = "PROGRAM-API-KEY-HF-TOKEN";
cfg["dgx-spark-vllm:sshPrivateKey"] = "PROGRAM-API-KEY-SSH-KEY";
const SECRET_KEYS = ["dgx-spark-vllm:apiKey", "dgx-spark-vllm:hfToken", "dgx-spark-vllm:sshPrivateKey"];
pulumi.runtime.setAllConfig(cfg, SECRET_KEYS);

test("a stack's apiKey secret of 13 characters stops the program before any resource, naming serving.apiKey", () => {
  let thrown: unknown;
  try {
    require("../../src/program");
  } catch (e) {
    thrown = e;
  }
  assert.ok(pulumi.RunError.isInstance(thrown), `not a RunError: ${(thrown as Error)?.stack}`);
  const message = (thrown as Error).message;
  assert.match(message, /^Invalid dgx-spark-vllm config \(1 problem; nothing was created or changed\):/);
  assert.match(message, /- serving\.apiKey: is 13 characters, shorter than 32: .*openssl rand -hex 24/);
  assert.ok(!message.includes(SHORT), "the message shows the API key");
  assert.deepEqual([...recorded.keys()], [], "resources were registered before the config check");
});
