/**
 * The router in Prometheus and Grafana (serving.router with observability on): the replica whose
 * nodes include the router's node scrapes its metrics listener, alerts when it is down or marks a
 * replica unhealthy, and shows its panels; the other replica does not. promtool (Debian's package)
 * checks the config and rules, and `promtool test rules` fires each router alert on the series that
 * must fire it and keeps it silent otherwise. That every vllm_router_* series read here has data on
 * a real vllm-router is test/router/real-router.test.ts's.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ObservabilityPlan } from "../../src/plan/observability";
import { ROUTER_JOB, routerSeriesRead } from "../../src/plan/router-observability";
import { routerDeployment } from "../support/rendered";

const IN_CI = process.env.CI === "true";
const missing =
  spawnSync("promtool", ["--version"]).status === 0 ? "" : "promtool is not installed (apt-get install prometheus)";
if (missing && IN_CI) throw new Error(missing);

const d = routerDeployment();
const obs = d.replicas.map((p) => p.observability as ObservabilityPlan);
const file = (o: ObservabilityPlan, end: string) =>
  o.files[Object.keys(o.files).find((f) => f.endsWith(end)) as string] as string;

describe("the router in the observability plan", () => {
  it("the first replica (the router's node is its head) scrapes the router's metrics port; the second does not", () => {
    assert.equal(d.router?.service?.node, "spark-a1");
    const job = `job_name: "${ROUTER_JOB}"\n    metrics_path: "/metrics"\n    static_configs:\n      - targets:\n          - "spark-a1.local:29000"\n        labels:\n          node: "spark-a1"`;
    assert.ok(file(obs[0]!, "prometheus.yml").includes(job), file(obs[0]!, "prometheus.yml"));
    assert.ok(!file(obs[1]!, "prometheus.yml").includes(ROUTER_JOB));
    assert.ok(!obs[1]!.panels.some((p) => p.title.startsWith("Router")));
    assert.ok(!obs[1]!.alerts.some((a) => a.alert.startsWith("Router")));
  });

  it("panels and alerts read only the router series seen on a real vllm-router 0.1.17", () => {
    assert.deepEqual(
      obs[0]!.panels.filter((p) => p.title.startsWith("Router")).map((p) => p.title),
      [
        "Router: requests per second",
        "Router: workers healthy and running requests",
        "Router: request duration",
        "Router: prefix routing (cache_aware)",
      ],
    );
    assert.deepEqual(routerSeriesRead(obs[0]!.panels, obs[0]!.alerts), [
      "vllm_router_active_workers",
      "vllm_router_generate_duration_seconds_bucket",
      "vllm_router_prefix_routing_decisions_total",
      "vllm_router_processed_requests_total",
      "vllm_router_requests_total",
      "vllm_router_running_requests",
      "vllm_router_worker_health",
    ]);
    assert.deepEqual(
      obs[0]!.alerts.filter((a) => a.alert.startsWith("Router")).map((a) => [a.alert, a.severity]),
      [
        ["RouterDown", "critical"],
        ["RouterWorkerUnhealthy", "warning"],
      ],
    );
  });

  it("without the router: no job, panel or alert of it (the same four Sparks)", () => {
    for (const p of routerDeployment(false).replicas) {
      const o = p.observability as ObservabilityPlan;
      assert.ok(!file(o, "prometheus.yml").includes(ROUTER_JOB));
      assert.deepEqual(routerSeriesRead(o.panels, o.alerts), []);
    }
  });
});

describe("the router's scrape job and alerts under promtool", { skip: missing && !IN_CI ? missing : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-router-obs-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const o = obs[0]!;
  const rules = join(dir, "rules.yml");
  writeFileSync(rules, file(o, "rules.yml"));

  it("promtool check config and check rules accept the router replica's files", () => {
    const cfg = join(dir, "prometheus.yml");
    // The container paths, pointed at this folder.
    writeFileSync(join(dir, "api-key"), "k");
    writeFileSync(
      cfg,
      file(o, "prometheus.yml")
        .replace("/etc/prometheus/rules.yml", rules)
        .replace("/etc/prometheus/api-key", join(dir, "api-key")),
    );
    const c = spawnSync("promtool", ["check", "config", cfg], { encoding: "utf8" });
    assert.equal(c.status, 0, c.stdout + c.stderr);
    const r = spawnSync("promtool", ["check", "rules", rules], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it("RouterDown fires when its scrape fails for 2 minutes, RouterWorkerUnhealthy when it marks a replica unhealthy; both silent otherwise", () => {
    const summary = (name: string, labels: Record<string, string>) =>
      (o.alerts.find((a) => a.alert === name)?.summary ?? "").replace(
        /\{\{ \$labels\.(\w+) \}\}/g,
        (_, k: string) => labels[k] ?? "",
      );
    const up = (v: string) => ({
      series: `up{job="${ROUTER_JOB}",node="spark-a1",instance="spark-a1.local:29000"}`,
      values: v,
    });
    const health = (w: string, v: string) => ({
      series: `vllm_router_worker_health{job="${ROUTER_JOB}",node="spark-a1",instance="spark-a1.local:29000",worker="${w}"}`,
      values: v,
    });
    const a = "http://spark-a1.local:8000";
    const b = "http://spark-b1.local:8000";
    const down = { job: ROUTER_JOB, node: "spark-a1", instance: "spark-a1.local:29000" };
    const tests = [
      {
        name: "fires",
        interval: "1m",
        input_series: [up("0x10"), health(a, "1x10"), health(b, "0x10")],
        alert_rule_test: [
          {
            eval_time: "3m",
            alertname: "RouterDown",
            exp_alerts: [
              {
                exp_labels: { ...down, severity: "critical" },
                exp_annotations: { summary: summary("RouterDown", down) },
              },
            ],
          },
          {
            eval_time: "3m",
            alertname: "RouterWorkerUnhealthy",
            exp_alerts: [
              {
                exp_labels: { ...down, worker: b, severity: "warning" },
                exp_annotations: { summary: summary("RouterWorkerUnhealthy", { ...down, worker: b }) },
              },
            ],
          },
        ],
      },
      {
        name: "silent",
        interval: "1m",
        // Up, both healthy; and a blip shorter than the 2 minutes.
        input_series: [up("1 1 0 1 1 1"), health(a, "1x5"), health(b, "1 0 1 1 1 1")],
        alert_rule_test: [
          { eval_time: "5m", alertname: "RouterDown", exp_alerts: [] },
          { eval_time: "5m", alertname: "RouterWorkerUnhealthy", exp_alerts: [] },
        ],
      },
    ];
    const f = join(dir, "rules.test.yml");
    writeFileSync(f, JSON.stringify({ rule_files: [rules], evaluation_interval: "1m", tests }, null, 2));
    const r = spawnSync("promtool", ["test", "rules", f], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });
});
