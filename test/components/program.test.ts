/** The Pulumi program (src/program.ts) from stack config with secrets, under mocks. */
import { settle, promiseOf, strings, inputsByName, wireInputsByName, REPO_ROOT } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

const stack = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.256k.yaml"), "utf8")).config as Record<
  string,
  unknown
>;
const cfg: Record<string, string> = {};
for (const [k, v] of Object.entries(stack)) cfg[k] = JSON.stringify(v);
cfg["dgx-spark-vllm:hfToken"] = "hf_PROGRAM_SECRET";
cfg["dgx-spark-vllm:apiKey"] = "sk-PROGRAM-SECRET-3a7c9e1b5d2f4680";
cfg["dgx-spark-vllm:sshPrivateKey"] = "PROGRAM-SSH-KEY";
pulumi.runtime.setAllConfig(cfg, ["dgx-spark-vllm:hfToken", "dgx-spark-vllm:apiKey", "dgx-spark-vllm:sshPrivateKey"]);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const program = require("../../src/program") as typeof import("../../src/program");

test("the program reads the stack config and secrets, builds the cluster and exports endpoint and a secret-free summary", async () => {
  await settle();
  assert.equal(await promiseOf(program.endpoint), "http://spark-head.local:8000/v1");
  assert.equal(await promiseOf(program.maxModelLen), 262144);
  assert.equal(program.planSummary.profile, "256k");
  assert.deepEqual(program.planSummary.startOrder, ["spark-worker", "spark-head"]);
  const text = JSON.stringify(program.planSummary);
  for (const s of ["hf_PROGRAM_SECRET", "sk-PROGRAM-SECRET-3a7c9e1b5d2f4680", "PROGRAM-SSH-KEY"])
    assert.ok(!text.includes(s), `summary leaks ${s}`);
  assert.equal(program.planSummary.secrets["model.hfToken"], "[secret]");
});

test("secrets read with config.getSecret stay secret in every resource input", async () => {
  await settle();
  let seen = 0;
  assert.ok(inputsByName.has("dsv4-service-spark-head"), "the head container was not created");
  // As the engine receives them (per-element secrets), and as the mocks saw them.
  for (const [name, inputs] of [...wireInputsByName, ...inputsByName]) {
    for (const { s, secret } of strings(inputs)) {
      if (["hf_PROGRAM_SECRET", "sk-PROGRAM-SECRET-3a7c9e1b5d2f4680", "PROGRAM-SSH-KEY"].some((x) => s.includes(x))) {
        seen++;
        assert.ok(secret, `${name} has a secret in clear`);
      }
    }
  }
  assert.ok(seen > 0, "the secrets never reached a resource (nothing recorded?)");
});
