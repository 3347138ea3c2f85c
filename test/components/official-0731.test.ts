/**
 * The official 0731 stack (stacks/Pulumi.0731-dspark.yaml) through the Pulumi program, under
 * mocks: every node pulls the b12x preset, and each rank's container runs the 0731 launch (DSpark
 * K=5 on the b12x backends) with the recipe's environment.
 */
import { withoutSecretsFile } from "../../src/plan/secrets-file";
import { settle, promiseOf, inputsByName, REPO_ROOT } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

const stack = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.0731-dspark.yaml"), "utf8"))
  .config as Record<string, unknown>;
const cfg: Record<string, string> = {};
for (const [k, v] of Object.entries(stack)) cfg[k] = JSON.stringify(v);
cfg["dgx-spark-vllm:hfToken"] = "hf_0731_SECRET";
cfg["dgx-spark-vllm:apiKey"] = "sk-0731-SECRET-9e4b1c7a2f3d5086e1";
cfg["dgx-spark-vllm:sshPrivateKey"] = "KEY-0731";
pulumi.runtime.setAllConfig(cfg, ["dgx-spark-vllm:hfToken", "dgx-spark-vllm:apiKey", "dgx-spark-vllm:sshPrivateKey"]);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const program = require("../../src/program") as typeof import("../../src/program");

test("every node pulls eugr/spark-vllm-b12x (the preset), nothing is built", async () => {
  await settle();
  assert.equal(program.planSummary.image, "eugr/spark-vllm-b12x:latest");
  for (const n of ["spark-head", "spark-worker"]) {
    const pull = inputsByName.get(`dsv4-image-${n}-image-pull`);
    assert.ok(pull, `${n} has an image-pull step`);
    assert.match(JSON.stringify(pull), /docker pull eugr\/spark-vllm-b12x:latest/);
  }
  assert.ok(![...inputsByName.keys()].some((k) => k.endsWith("-build")), "no image build");
});

test("each rank's container runs the 0731 DSpark launch with the recipe's env", async () => {
  await settle();
  for (const n of ["spark-head", "spark-worker"]) {
    const c = inputsByName.get(`dsv4-service-${n}`);
    assert.ok(c, `${n} container`);
    const command = withoutSecretsFile([...(c.entrypoints as string[]), ...(c.command as string[])]);
    assert.equal(command[2], "deepseek-ai/DeepSeek-V4-Flash-0731");
    assert.equal(
      command[command.indexOf("--speculative-config") + 1],
      '{"method":"dspark","num_speculative_tokens":5,"draft_sample_method":"probabilistic","attention_backend":"B12X"}',
    );
    assert.equal(command[command.indexOf("--moe-backend") + 1], "b12x");
    const env = JSON.stringify(c.envs);
    for (const v of [
      "VLLM_USE_B12X_MOE=1",
      "CUTE_DSL_ARCH=sm_121a",
      "VLLM_USE_V2_MODEL_RUNNER=1",
      "B12X_MOE_FORCE_A8=1",
    ])
      assert.ok(env.includes(v), `${n}: ${v}`);
  }
  assert.equal(await promiseOf(program.endpoint), "http://spark-head.local:8000/v1");
});
