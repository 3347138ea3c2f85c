/**
 * serving.router under mocks, through the Pulumi program: stacks/Pulumi.2x2-replicas.yaml with
 * serving.router.enabled. DeepSeekV4Replicas creates a VllmRouter on the first replica's head whose
 * endpoint is the stack's `endpoint`; the per-replica endpoints stay in `endpoints`; the API key
 * reaches the router's node only as the secrets step's (secret) stdin.
 */
import { settle, promiseOf, inputsByName, wireInputsByName, strings, unwrap, REPO_ROOT } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

const KEY = "sk-ROUTER-SECRET-3f9a61c8e2d4b705";
const stack = parse(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.2x2-replicas.yaml"), "utf8"))
  .config as Record<string, any>;
stack["dgx-spark-vllm:serving"] = { ...stack["dgx-spark-vllm:serving"], router: { enabled: true, port: 8088 } };
const cfg: Record<string, string> = {};
for (const [k, v] of Object.entries(stack)) cfg[k] = JSON.stringify(v);
cfg["dgx-spark-vllm:hfToken"] = "hf_ROUTER_SECRET";
cfg["dgx-spark-vllm:apiKey"] = KEY;
cfg["dgx-spark-vllm:sshPrivateKey"] = "ROUTER-SSH-KEY";
pulumi.runtime.setAllConfig(cfg, ["dgx-spark-vllm:hfToken", "dgx-spark-vllm:apiKey", "dgx-spark-vllm:sshPrivateKey"]);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const program = require("../../src/program") as typeof import("../../src/program");

test("the stack's endpoint is the router's; each replica's endpoint stays an output", async () => {
  await settle();
  assert.equal(await promiseOf(program.endpoint), "http://spark-a1.local:8088/v1");
  assert.deepEqual(await promiseOf(program.endpoints), [
    "http://spark-a1.local:8000/v1",
    "http://spark-b1.local:8000/v1",
  ]);
  assert.equal(await promiseOf(program.routerMetricsUrl!), "http://spark-a1.local:29000/metrics");
});

test("the router runs on the first replica's head: venv, root-only key file, unit with both workers", async () => {
  await settle();
  for (const id of ["venv", "secrets", "unit"]) {
    const inputs = inputsByName.get(`dsv4-router-${id}`);
    assert.ok(inputs, `dsv4-router-${id} was created`);
    assert.equal(unwrap(inputs.connection).host, "spark-a1.local", `${id} runs on spark-a1`);
  }
  const unit = inputsByName.get("dsv4-router-unit")!.create as string;
  assert.match(unit, /--worker-urls http:\/\/spark-a1\.local:8000 http:\/\/spark-b1\.local:8000 --policy cache_aware/);
  assert.match(unit, /--port 8088 /);
  assert.match(
    unit,
    /EnvironmentFile=\/var\/lib\/dgx-spark-vllm\/secrets\/dgx-spark-vllm-router\.service\/secrets\.env/,
  );
  assert.match(unit, /Restart=always/);
  // Started (and restarted) after the replicas answer: their endpoints are among the unit's triggers.
  const triggers = JSON.stringify(unwrap(inputsByName.get("dsv4-router-unit")!.triggers));
  assert.ok(
    triggers.includes("http://spark-a1.local:8000/v1") && triggers.includes("http://spark-b1.local:8000/v1"),
    triggers,
  );
  const venv = inputsByName.get("dsv4-router-venv")!.create as string;
  assert.match(venv, /^VERSION=0\.1\.17$/m);
  assert.match(venv, /pip" install .*"vllm-router==\$VERSION"/);
  assert.match(venv, /^router_venv_install$/m);
});

test("the API key is only in the secrets step's stdin, as a secret; nowhere in a script, argv or output", async () => {
  await settle();
  const secrets = wireInputsByName.get("dsv4-router-secrets")!;
  const stdin = strings(secrets.stdin);
  assert.ok(
    stdin.some((s) => s.s === `${KEY}\n` && s.secret),
    "the key is the stdin, wrapped as a secret",
  );
  for (const [name, inputs] of wireInputsByName) {
    for (const s of strings(inputs)) {
      if (s.s.includes(KEY)) assert.ok(s.secret, `${name}.${s.path} holds the key outside a secret`);
    }
  }
  assert.ok(!JSON.stringify(await promiseOf(program.endpoint)).includes(KEY));
});
