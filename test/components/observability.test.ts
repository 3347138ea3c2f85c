/**
 * Observability under mocks: the cluster with `observability.enabled` makes Prometheus,
 * Alertmanager and Grafana on the head and a node exporter per node, exactly the plan's
 * containers; the secrets travel only on the config step's stdin; the data volumes are kept on
 * destroy only when asked; off by default it makes nothing.
 */
import { recordTransformation, settle, strings, isSecret, promiseOf, unwrap, type Recorded } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { DeepSeekV4Cluster } from "../../src/components/cluster";
import { Observability } from "../../src/components/observability";
import { loadClusterConfig } from "../../src/config/load";
import { planFromInput } from "../../src/plan";
import type { ObservabilityPlan } from "../../src/plan/types";
import { baseConfig } from "../support/fixtures";

const API = "sk-OBS-api-key-123-5c9e1a7f3b2d8046";
const HOOK = "https://hooks.example.test/OBS-secret-hook";
const PASS = "OBS-grafana-password-456";

function input(extra: Record<string, unknown> = {}) {
  const c = baseConfig();
  c.serving.apiKey = API;
  c.hardening = { webhookUrl: HOOK };
  c.observability = { enabled: true, grafana: { adminPassword: PASS }, ...extra };
  return c;
}
/** retainOnDelete of every resource, by name (the shared recorder does not keep resource options). */
const retain = new Map<string, boolean | undefined>();
const opts = {
  transformations: [
    recordTransformation,
    ((a) => {
      retain.set(a.name, (a.opts as { retainOnDelete?: boolean }).retainOnDelete);
      return undefined;
    }) as import("@pulumi/pulumi").ResourceTransformation,
  ],
};
const on = new DeepSeekV4Cluster("obs", { config: loadClusterConfig(input(), "deploy").config }, opts);
const kept = new DeepSeekV4Cluster(
  "obskeep",
  { config: loadClusterConfig(input({ keepDataOnDestroy: true }), "deploy").config },
  opts,
);
const off = new DeepSeekV4Cluster("obsoff", { config: loadClusterConfig(baseConfig(), "deploy").config }, opts);
const ready = settle();
const under = (all: Map<string, Recorded>, prefix: string) =>
  [...all.values()].filter((r) => r.name.startsWith(`${prefix}-`));

test("observability on: the plan's containers on the head and one node exporter per node, on the right providers", async () => {
  const all = await ready;
  const o = on.plan.observability as ObservabilityPlan;
  const containers = under(all, "obs-observability").filter((r) => r.type === "docker:index/container:Container");
  const byName = Object.fromEntries(
    containers.map((c) => [c.inputs.name + (c.provider?.includes("worker") ? "@worker" : "@head"), c]),
  );
  assert.deepEqual(Object.keys(byName).sort(), [
    "dgx-spark-vllm-alertmanager@head",
    "dgx-spark-vllm-grafana@head",
    "dgx-spark-vllm-node-exporter@head",
    "dgx-spark-vllm-node-exporter@worker",
    "dgx-spark-vllm-prometheus@head",
  ]);
  const prom = byName["dgx-spark-vllm-prometheus@head"] as Recorded;
  assert.deepEqual(prom.inputs.command, [...o.prometheus.command]);
  assert.ok(prom.inputs.command.includes("--storage.tsdb.retention.time=15d"));
  assert.equal(prom.inputs.networkMode, "host");
  assert.ok(
    prom.inputs.volumes.some(
      (v: Record<string, unknown>) =>
        v.volumeName === "dgx-spark-vllm-prometheus-data" && v.containerPath === "/prometheus",
    ),
  );
  const graf = byName["dgx-spark-vllm-grafana@head"] as Recorded;
  assert.ok(graf.inputs.envs.includes("GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana-admin-password"));
  // Images are pulled by the plan's reference on the node that runs them.
  const images = under(all, "obs-observability").filter((r) => r.type === "docker:index/remoteImage:RemoteImage");
  assert.deepEqual(
    images.map((i) => i.inputs.name).sort(),
    [
      o.alertmanager.image,
      o.grafana.image,
      o.nodeExporters["spark-head"]?.image,
      o.nodeExporters["spark-worker"]?.image,
      o.prometheus.image,
    ].sort(),
  );
  assert.equal(await promiseOf(on.observability?.grafanaUrl as never), "http://192.168.1.11:3000");
  assert.equal(await promiseOf(on.observability?.prometheusUrl as never), "http://127.0.0.1:9090");
});

test("the secrets reach the head only on the config step's stdin, as a Pulumi secret", async () => {
  const all = await ready;
  const step = all.get("obs-observability-config") as Recorded;
  assert.ok(step, "the config step exists");
  assert.ok(isSecret(step.inputs.stdin));
  assert.equal(unwrap(step.inputs.stdin), `${API}\n${HOOK}\n${PASS}\n`);
  for (const r of under(all, "obs-observability")) {
    for (const s of strings(r.inputs)) {
      if (s.secret) continue;
      for (const secret of [API, HOOK, PASS])
        assert.ok(!s.s.includes(secret), `${r.name} ${s.path} holds a secret in plain text`);
    }
  }
  const plain = strings(step.inputs)
    .filter((s) => !s.secret)
    .map((s) => s.s)
    .join("\n");
  assert.match(plain, /alertmanager\.yml\.in/);
});

test("the data volumes are deleted with the stack unless keepDataOnDestroy", async () => {
  const all = await ready;
  const vols = (prefix: string) =>
    under(all, prefix)
      .filter((r) => r.type === "docker:index/volume:Volume")
      .map((r) => r.inputs.name)
      .sort();
  assert.deepEqual(vols("obs-observability"), ["dgx-spark-vllm-grafana-data", "dgx-spark-vllm-prometheus-data"]);
  assert.deepEqual(vols("obskeep-observability"), vols("obs-observability"));
  for (const v of ["dgx-spark-vllm-grafana-data", "dgx-spark-vllm-prometheus-data"]) {
    assert.equal(retain.get(`obs-observability-${v}`), false, `${v} goes with pulumi destroy by default`);
    assert.equal(retain.get(`obskeep-observability-${v}`), true, `${v} is kept with keepDataOnDestroy`);
  }
  // Nothing else is kept behind.
  for (const [n, r] of retain)
    if (n.startsWith("obskeep-observability-") && !n.endsWith("-data")) assert.notEqual(r, true, n);
});

test("observability off (the default) makes nothing, and the component refuses a plan without it", async () => {
  const all = await ready;
  assert.equal(off.observability, undefined);
  assert.deepEqual(
    under(all, "obsoff").filter((r) => r.name.includes("observability")),
    [],
  );
  assert.throws(
    () => new Observability("x", { plan: planFromInput(baseConfig()), nodes: [], adminPassword: "p" }),
    /observability off/,
  );
});
