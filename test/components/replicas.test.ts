/**
 * serving.replicas: 2 under mocks, from stacks/Pulumi.2x2-replicas.yaml through the Pulumi program:
 * two clusters, each on its own two Sparks with its own head, rendezvous and endpoint.
 */
import { settle, promiseOf, inputsByName, REPO_ROOT } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

const stack = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.2x2-replicas.yaml"), "utf8"))
  .config as Record<string, unknown>;
const cfg: Record<string, string> = {};
for (const [k, v] of Object.entries(stack)) cfg[k] = JSON.stringify(v);
cfg["dgx-spark-vllm:hfToken"] = "hf_REPLICA_SECRET";
cfg["dgx-spark-vllm:apiKey"] = "sk-REPLICA-SECRET-6d2b8f4a1c9e3750";
cfg["dgx-spark-vllm:sshPrivateKey"] = "REPLICA-SSH-KEY";
pulumi.runtime.setAllConfig(cfg, ["dgx-spark-vllm:hfToken", "dgx-spark-vllm:apiKey", "dgx-spark-vllm:sshPrivateKey"]);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const program = require("../../src/program") as typeof import("../../src/program");

test("two replicas: each head serves its own endpoint, in replica order", async () => {
  await settle();
  assert.deepEqual(await promiseOf(program.endpoints), [
    "http://spark-a1.local:8000/v1",
    "http://spark-b1.local:8000/v1",
  ]);
  assert.equal(await promiseOf(program.endpoint), "http://spark-a1.local:8000/v1");
});

test("each replica's resources live under its own cluster and touch only its own Sparks", async () => {
  await settle();
  const names = [...inputsByName.keys()];
  for (const [r, nodes, others] of [
    ["dsv4-r0", ["spark-a1", "spark-a2"], ["spark-b1", "spark-b2"]],
    ["dsv4-r1", ["spark-b1", "spark-b2"], ["spark-a1", "spark-a2"]],
  ] as const) {
    const mine = names.filter((n) => n.startsWith(`${r}-`));
    assert.ok(mine.length > 10, `${r}: ${mine.length} resources`);
    for (const n of nodes)
      assert.ok(
        mine.some((x) => x.includes(n)),
        `${r} has resources for ${n}`,
      );
    for (const n of others) assert.ok(!mine.some((x) => x.includes(n)), `${r} has nothing for ${n}`);
  }
  assert.ok(
    names.every((n) => !n.startsWith("dsv4-") || /^dsv4-r[01]/.test(n) || n === "dsv4"),
    "no resource outside a replica",
  );
});

test("each replica's ranks rendezvous at their own head (MASTER_ADDR, --master-addr)", async () => {
  await settle();
  for (const [container, head] of [
    ["dsv4-r0-service-spark-a2", "10.0.0.11"],
    ["dsv4-r1-service-spark-b2", "10.0.0.21"],
  ] as const) {
    const inputs = inputsByName.get(container);
    assert.ok(
      inputs,
      `${container} was created (have: ${[...inputsByName.keys()].filter((k) => k.includes("service")).join(", ")})`,
    );
    const text = JSON.stringify(inputs);
    assert.match(text, new RegExp(`MASTER_ADDR=${head.replace(/\./g, "\\.")}`));
    assert.match(text, new RegExp(`"--master-addr","${head.replace(/\./g, "\\.")}"`));
  }
});
