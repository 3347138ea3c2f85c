/**
 * Observability for real, on loopback (no lab namespaces): the plan's Prometheus config and rules
 * checked by promtool (Debian's package), every alert fired and not fired by `promtool test rules`,
 * then a real Prometheus scraping the stand-in engine (vLLM-format /metrics, API key required) and
 * two real node exporters (Debian's package) whose textfile collector reads what our node metrics
 * functions wrote over fixture sysfs trees. Every dashboard panel's query and every series a rule
 * reads must return data. Grafana is not in Debian: its provisioning files are checked by shape.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { renderSummary } from "../../src/cli/summary";
import { ConfigError } from "../../src/config/errors";
import { clusterInputFromStackConfig, loadClusterConfig } from "../../src/config/load";
import { planFromInput } from "../../src/plan";
import { roceGid } from "../../src/plan/launch";
import {
  alertmanagerConfig,
  DATASOURCE_UID,
  type ObservabilityPlan,
  type ObsInputs,
  nodeMetricsVars,
  OBS_FILES,
  observabilityConfigStep,
  prometheusConfig,
  rulesFile,
  WEBHOOK_PLACEHOLDER,
} from "../../src/plan/observability";
import { HOST_DIR, varBlock } from "../../src/shell/host";
import { shq } from "../../src/shell/quote";
import { type PanelData, renderDashboardSvg } from "../support/dashboard-svg";
import { baseConfig } from "../support/fixtures";
import { planSeries } from "../support/promql";
import { type StandinServer, startStandin } from "../support/standin";
import { writeSysfs } from "../support/sysfs";

const IN_CI = process.env.CI === "true";
const have = (cmd: string, arg = "--version") => spawnSync(cmd, [arg]).status === 0;
const tools = have("promtool") && have("prometheus") && have("prometheus-node-exporter");
const missing = tools
  ? ""
  : "prometheus and prometheus-node-exporter are not installed (apt-get install prometheus prometheus-node-exporter)";
if (missing && IN_CI) throw new Error(missing);

const API_KEY = "obs-test-api-key-0123456789abcdefgh";
const WEBHOOK = "https://hooks.example.test/secret-path-abc";
const PASSWORD = "grafana-admin-pw-xyz";

function config(extra: Record<string, unknown> = {}) {
  const c = baseConfig();
  c.serving.apiKey = API_KEY;
  c.hardening = { webhookUrl: WEBHOOK };
  c.observability = { enabled: true, grafana: { adminPassword: PASSWORD }, ...extra };
  return c;
}
const obsOf = (c: Record<string, unknown>) => planFromInput(c).observability as ObservabilityPlan;

describe("observability config", () => {
  it("is off by default, and on with `enabled: true` and a password", () => {
    assert.deepEqual(planFromInput(baseConfig()).observability, { enabled: false });
    const o = obsOf(config());
    assert.equal(o.enabled, true);
    // Prometheus on the head's loopback by default; Grafana and the exporters at the management addresses.
    assert.equal(o.prometheus.url, "http://127.0.0.1:9090");
    assert.ok(o.prometheus.command.includes("--web.listen-address=127.0.0.1:9090"));
    assert.equal(o.grafana.url, "http://192.168.1.11:3000");
    assert.equal(o.grafana.env.GF_SERVER_HTTP_ADDR, "192.168.1.11");
    assert.ok(o.nodeExporters["spark-worker"]?.command.includes("--web.listen-address=192.168.1.12:9100"));
    // listen: all opens Prometheus on every interface, at the head's address.
    const all = obsOf(config({ prometheus: { listen: "all" } }));
    assert.equal(all.prometheus.url, "http://192.168.1.11:9090");
    assert.ok(all.prometheus.command.includes("--web.listen-address=:9090"));
    assert.equal(all.prometheus.bind, "0.0.0.0");
    // A host name is no address to bind: the exporter listens on every interface.
    const named = config();
    named.nodes[1].ssh.host = "spark-worker.local";
    assert.ok(obsOf(named).nodeExporters["spark-worker"]?.command.includes("--web.listen-address=:9100"));
    assert.deepEqual(Object.keys(o.nodeExporters), ["spark-head", "spark-worker"]);
  });
  it("refuses to deploy without the Grafana admin password, naming the key to set", () => {
    const c = config();
    delete c.observability.grafana;
    assert.throws(
      () => planFromInput(c, "deploy"),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some(
          (p) => p.path === "observability.grafana.adminPassword" && /grafanaAdminPassword/.test(p.message),
        ),
    );
  });
  it("reads the password from the stack's grafanaAdminPassword key, beside the observability section in either order", () => {
    for (const order of [0, 1]) {
      const entries: [string, unknown][] = [
        ["dgx-spark-vllm:observability", { enabled: true, grafana: { port: 3001 } }],
        ["dgx-spark-vllm:grafanaAdminPassword", PASSWORD],
      ];
      if (order) entries.reverse();
      const input = clusterInputFromStackConfig(Object.fromEntries(entries)) as {
        observability: { enabled: boolean; grafana: Record<string, unknown> };
      };
      assert.equal(input.observability.enabled, true);
      assert.deepEqual(input.observability.grafana, { port: 3001, adminPassword: PASSWORD });
    }
  });
  it("refuses two listeners on one port of the head", () => {
    assert.throws(
      () => planFromInput(config({ grafana: { adminPassword: PASSWORD, port: 8000 } })),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some(
          (p) => p.path === "observability.grafana.port" && /already used by serving.port/.test(p.message),
        ),
    );
  });
  it("warns on every image pinned by tag only, and not on one with a digest", () => {
    const digest = `prom/prometheus:v2.53.3@sha256:${"a".repeat(64)}`;
    const p = planFromInput(config({ prometheus: { image: digest } }));
    const paths = p.warnings.map((w) => w.path);
    assert.ok(paths.includes("observability.grafana.image"));
    assert.ok(paths.includes("observability.nodeExporter.image"));
    assert.ok(!paths.includes("observability.prometheus.image"));
  });
  it("plan's summary names the URLs and the password as a secret; off says how to turn it on", () => {
    const text = renderSummary(planFromInput(config()), "test");
    assert.match(
      text,
      /^Metrics {4}Prometheus http:\/\/127\.0\.0\.1:9090 on spark-head's loopback \(elsewhere: ssh -L\) \(retention 15d\), Grafana http:\/\/192\.168\.1\.11:3000/m,
    );
    assert.match(text, /observability\.grafana\.adminPassword: \[secret\]/);
    assert.match(
      renderSummary(planFromInput(baseConfig()), "test"),
      /^Metrics {4}off \(observability\.enabled: false\)$/m,
    );
  });
  it("never puts the API key, the webhook URL or the Grafana password in the plan", () => {
    const text = JSON.stringify(planFromInput(config()));
    for (const s of [API_KEY, WEBHOOK, PASSWORD]) assert.ok(!text.includes(s), `${s} leaked into the plan`);
    const o = obsOf(config());
    assert.match(
      o.files[Object.keys(o.files).find((f) => f.endsWith("alertmanager.yml.in")) as string] as string,
      new RegExp(WEBHOOK_PLACEHOLDER.replace(/[./]/g, "\\$&")),
    );
  });
  it("drops the acceptance panel and alert without MTP, the restart ones without the watchdog", () => {
    const c = config();
    c.serving.mtp = false;
    c.serving.watchdog = { enabled: false };
    const o = obsOf(c);
    assert.ok(!o.alerts.some((a) => a.alert === "SpecAcceptanceCollapsed" || a.alert === "WatchdogRestartsOverBudget"));
    assert.ok(!o.panels.some((p) => /Speculative|Watchdog/.test(p.title)));
  });
});

describe("observability for real: promtool, Prometheus, node exporters", { skip: missing || false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-obs-"));
  const procs: ChildProcess[] = [];
  let standin: StandinServer;
  let promPort = 0;
  let exporterPort = 0;
  let trafficStart = 0;
  const o = obsOf(config());
  const allRules = o.alerts;

  after(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
    await standin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("promtool check config and check rules accept what the plan renders", () => {
    const rules = join(dir, "rules.yml");
    writeFileSync(rules, rulesFile(allRules));
    writeFileSync(join(dir, "api-key"), API_KEY);
    const cfg = join(dir, "check.yml");
    const inputs: ObsInputs = {
      head: "spark-head",
      nodes: [
        { name: "spark-head", host: "192.168.1.11" },
        { name: "spark-worker", host: "192.168.1.12" },
      ],
      vllmPort: 8000,
      authenticated: true,
      speculative: true,
      webhook: true,
    };
    writeFileSync(
      cfg,
      prometheusConfig(loadClusterConfig(config(), "plan").config.observability, inputs, {
        rules,
        apiKey: join(dir, "api-key"),
      }),
    );
    // The plan's own file, with the container paths, is the same but for the two paths.
    const planned = o.files[Object.keys(o.files).find((f) => f.endsWith("prometheus.yml")) as string] as string;
    assert.match(planned, /credentials_file: "\/etc\/prometheus\/api-key"/);
    const c = spawnSync("promtool", ["check", "config", cfg], { encoding: "utf8" });
    assert.equal(c.status, 0, c.stdout + c.stderr);
    const r = spawnSync("promtool", ["check", "rules", rules], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${allRules.length} rules found`));
  });

  it("Alertmanager's config (amtool, Debian's prometheus-alertmanager when installed) routes to the webhook", (t) => {
    if (!have("amtool")) {
      if (IN_CI) assert.fail("amtool is not installed (Debian: apt-get install prometheus-alertmanager)");
      t.skip("amtool is not installed");
      return;
    }
    const f = join(dir, "am.yml");
    writeFileSync(f, alertmanagerConfig(WEBHOOK));
    const r = spawnSync("amtool", ["check-config", f], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const none = join(dir, "am-none.yml");
    writeFileSync(none, alertmanagerConfig(undefined));
    assert.equal(spawnSync("amtool", ["check-config", none]).status, 0);
  });

  it("promtool test rules: each alert fires on the series that must fire it and stays silent otherwise", () => {
    const rules = join(dir, "rules.yml");
    writeFileSync(rules, rulesFile(allRules));
    /** The expected alert: its labels, and the summary with them filled in. */
    const exp = (alertname: string, labels: Record<string, string>) => {
      const rule = allRules.find((r) => r.alert === alertname);
      assert.ok(rule, alertname);
      const summary = rule.summary.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "");
      return { exp_labels: labels, exp_annotations: { summary } };
    };
    const m = 'model_name="deepseek-v4",engine="0",node="spark-head",job="vllm",instance="h:8000"';
    const tests = [
      {
        name: "fires",
        interval: "1m",
        input_series: [
          { series: 'dgx_spark_vllm_uma_available_bytes{node="a"}', values: "5000000000x10" },
          { series: 'dgx_spark_vllm_uma_threshold_bytes{node="a"}', values: "6442450944x10" },
          { series: 'up{job="vllm",node="spark-head",instance="h:8000"}', values: "0x10" },
          { series: 'up{job="node",node="b",instance="b:9100"}', values: "0x10" },
          { series: 'dgx_spark_vllm_node_metrics_timestamp_seconds{node="a"}', values: "0x10" },
          { series: 'dgx_spark_vllm_watchdog_restarts_last_hour{node="spark-head"}', values: "3x10" },
          { series: 'dgx_spark_vllm_watchdog_max_restarts_per_hour{node="spark-head"}', values: "3x10" },
          { series: 'dgx_spark_vllm_watchdog_gave_up{node="spark-head"}', values: "0x10" },
          { series: `vllm:kv_cache_usage_perc{${m}}`, values: "0.97x10" },
          {
            series:
              'dgx_spark_vllm_rdma_port_errors_total{node="a",device="rocep1s0f1",port="1",counter="symbol_error"}',
            values: "0 0 0 0 0 5 9 9 9 9 9",
          },
          {
            series: 'dgx_spark_vllm_roce_gid_index{node="a",netdev="e",hca="rocep1s0f1",address="10.0.0.1"}',
            values: "-1x10",
          },
          { series: `vllm:spec_decode_num_draft_tokens_total{${m}}`, values: "0+100x30" },
          { series: `vllm:spec_decode_num_accepted_tokens_total{${m}}`, values: "0+10x30" },
        ],
        alert_rule_test: [
          {
            eval_time: "6m",
            alertname: "UmaHeadroomLow",
            exp_alerts: [exp("UmaHeadroomLow", { severity: "critical", node: "a" })],
          },
          {
            eval_time: "6m",
            alertname: "EngineDown",
            exp_alerts: [
              exp("EngineDown", { severity: "critical", job: "vllm", node: "spark-head", instance: "h:8000" }),
            ],
          },
          {
            eval_time: "6m",
            alertname: "NodeExporterDown",
            exp_alerts: [exp("NodeExporterDown", { severity: "warning", job: "node", node: "b", instance: "b:9100" })],
          },
          {
            eval_time: "6m",
            alertname: "NodeMetricsStale",
            exp_alerts: [exp("NodeMetricsStale", { severity: "warning", node: "a" })],
          },
          {
            eval_time: "6m",
            alertname: "WatchdogRestartsOverBudget",
            exp_alerts: [exp("WatchdogRestartsOverBudget", { severity: "critical", node: "spark-head" })],
          },
          {
            eval_time: "6m",
            alertname: "KvCacheSaturated",
            exp_alerts: [exp("KvCacheSaturated", { severity: "warning", node: "spark-head" })],
          },
          {
            eval_time: "7m",
            alertname: "RoceLinkErrorsRising",
            exp_alerts: [
              exp("RoceLinkErrorsRising", { severity: "warning", node: "a", device: "rocep1s0f1", port: "1" }),
            ],
          },
          {
            eval_time: "6m",
            alertname: "RoceGidMissing",
            exp_alerts: [
              exp("RoceGidMissing", {
                severity: "critical",
                node: "a",
                netdev: "e",
                hca: "rocep1s0f1",
                address: "10.0.0.1",
              }),
            ],
          },
          {
            eval_time: "25m",
            alertname: "SpecAcceptanceCollapsed",
            exp_alerts: [exp("SpecAcceptanceCollapsed", { severity: "warning", node: "spark-head" })],
          },
        ],
      },
      {
        name: "silent on a healthy cluster",
        interval: "1m",
        input_series: [
          { series: 'dgx_spark_vllm_uma_available_bytes{node="a"}', values: "8000000000x10" },
          { series: 'dgx_spark_vllm_uma_threshold_bytes{node="a"}', values: "6442450944x10" },
          { series: 'up{job="vllm",node="spark-head",instance="h:8000"}', values: "1x10" },
          { series: 'up{job="node",node="b",instance="b:9100"}', values: "1x10" },
          { series: 'dgx_spark_vllm_node_metrics_timestamp_seconds{node="a"}', values: "0+60x10" },
          { series: 'dgx_spark_vllm_watchdog_restarts_last_hour{node="spark-head"}', values: "2x10" },
          { series: 'dgx_spark_vllm_watchdog_max_restarts_per_hour{node="spark-head"}', values: "3x10" },
          { series: 'dgx_spark_vllm_watchdog_gave_up{node="spark-head"}', values: "0x10" },
          // Saturated, but for less than the configured minutes.
          { series: `vllm:kv_cache_usage_perc{${m}}`, values: "0.5 0.5 0.99 0.99 0.99 0.5 0.5 0.5 0.5 0.5 0.5" },
          {
            series:
              'dgx_spark_vllm_rdma_port_errors_total{node="a",device="rocep1s0f1",port="1",counter="symbol_error"}',
            values: "4x20",
          },
          {
            series: 'dgx_spark_vllm_roce_gid_index{node="a",netdev="e",hca="rocep1s0f1",address="10.0.0.1"}',
            values: "3x10",
          },
          { series: `vllm:spec_decode_num_draft_tokens_total{${m}}`, values: "0+100x30" },
          { series: `vllm:spec_decode_num_accepted_tokens_total{${m}}`, values: "0+75x30" },
        ],
        alert_rule_test: [
          "UmaHeadroomLow",
          "EngineDown",
          "NodeExporterDown",
          "NodeMetricsStale",
          "WatchdogRestartsOverBudget",
          "KvCacheSaturated",
          "RoceLinkErrorsRising",
          "RoceGidMissing",
          "SpecAcceptanceCollapsed",
        ].map((alertname) => ({
          eval_time: alertname === "SpecAcceptanceCollapsed" ? "25m" : "8m",
          alertname,
          exp_alerts: [],
        })),
      },
      {
        name: "gave up fires the budget alert even under the count",
        interval: "1m",
        input_series: [
          { series: 'dgx_spark_vllm_watchdog_restarts_last_hour{node="spark-head"}', values: "0x5" },
          { series: 'dgx_spark_vllm_watchdog_max_restarts_per_hour{node="spark-head"}', values: "3x5" },
          { series: 'dgx_spark_vllm_watchdog_gave_up{node="spark-head"}', values: "1x5" },
        ],
        alert_rule_test: [
          {
            eval_time: "2m",
            alertname: "WatchdogRestartsOverBudget",
            exp_alerts: [exp("WatchdogRestartsOverBudget", { severity: "critical", node: "spark-head" })],
          },
        ],
      },
    ];
    // Every alert of the plan is covered by both kinds of case.
    const fired = new Set(tests[0]?.alert_rule_test.map((t) => t.alertname));
    assert.deepEqual([...fired].sort(), allRules.map((r) => r.alert).sort());
    const f = join(dir, "rules.test.yml");
    writeFileSync(f, JSON.stringify({ rule_files: [rules], evaluation_interval: "1m", tests }, null, 2));
    const r = spawnSync("promtool", ["test", "rules", f], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });

  /** A free TCP port on 127.0.0.1 and 127.0.0.2 both. */
  async function freePort(): Promise<number> {
    for (;;) {
      const port = await new Promise<number>((resolve, reject) => {
        const s = createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.2", () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => resolve(p));
        });
      });
      const ok = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once("error", () => resolve(false));
        s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
      });
      if (ok) return port;
    }
  }

  async function waitHttp(url: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      try {
        const r = await fetch(url);
        if (r.ok) return;
      } catch {}
      if (Date.now() > end) throw new Error(`${url} did not answer within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function query(expr: string): Promise<unknown[]> {
    const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const j = (await r.json()) as { status: string; data?: { result: unknown[] }; error?: string };
    assert.equal(j.status, "success", `${expr}: ${j.error}`);
    return j.data?.result ?? [];
  }

  /** The series of `expr` since the traffic began that have finite points (what a panel draws). */
  async function drawable(expr: string, end = Math.ceil(Date.now() / 1000) + 1) {
    const url = `http://127.0.0.1:${promPort}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${Math.floor(trafficStart / 1000)}&end=${end}&step=1`;
    const j = (await (await fetch(url)).json()) as {
      data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
    };
    return j.data.result
      .map((r) => ({
        metric: r.metric,
        points: r.values.map(([ts, v]) => [ts, Number(v)] as const).filter(([, v]) => Number.isFinite(v)),
      }))
      .filter((r) => r.points.length > 0);
  }

  before(async () => {
    if (missing) return;
    standin = await startStandin({ apiKey: API_KEY, metricsRequireKey: true, behavior: { tokenIntervalMs: 20 } });
    exporterPort = await freePort();
    promPort = await freePort();
    // Our node metrics on two "nodes" (127.0.0.1 and 127.0.0.2), from the real functions over fixture sysfs trees.
    const c = config();
    c.nodes[0].ssh.host = "127.0.0.1";
    c.nodes[1].ssh.host = "127.0.0.2";
    c.serving.port = standin.port;
    c.observability.nodeExporter = { port: exporterPort };
    c.observability.prometheus = { port: promPort, scrapeIntervalSeconds: 1 };
    const obs = obsOf(c);
    for (const [i, name] of ["spark-head", "spark-worker"].entries()) {
      const spec = obs.nodeMetrics[name];
      assert.ok(spec);
      const sys = join(dir, name, "sys");
      const textfile = join(dir, name, "textfile");
      mkdirSync(textfile, { recursive: true });
      const wd = join(dir, name, "watchdog");
      mkdirSync(wd, { recursive: true });
      writeFileSync(join(wd, "restarts"), `${Math.floor(Date.now() / 1000) - 100}\n`);
      const address = i === 0 ? "10.0.0.1" : "10.0.0.2";
      writeSysfs(sys, [
        {
          netdev: "enp1s0f1np1",
          hca: "rocep1s0f1",
          mtu: 9000,
          gids: { 3: [roceGid(address), "RoCE v2"] },
          counters: { symbol_error: 0, port_rcv_errors: 1, port_xmit_data: 1000 * (i + 1), port_rcv_data: 500 },
          hwCounters: { out_of_sequence: 0, packet_seq_err: 1, roce_adp_retrans: 0 },
        },
      ]);
      const block = varBlock({
        NODE: name,
        THRESHOLD_KB: 6 * 1024 * 1024,
        ...nodeMetricsVars(spec),
        METRICS_FILE: join(textfile, "dgx_spark_vllm.prom"),
        ...(spec.watchdog ? { WATCHDOG_DIR: wd } : {}),
      });
      const src = ["gid.sh", "node-metrics.sh"].map((f) => `source ${shq(join(HOST_DIR, f))}`).join("\n");
      const docker = 'docker() { echo "true 2026-12-02T10:00:00Z"; }';
      const w = spawnSync(
        "bash",
        [
          "-c",
          `set -euo pipefail\n${block}\n${docker}\n${src}\nnode_metrics 8388608 ${shq(sys)} "$(date +%s)" > "$METRICS_FILE"`,
        ],
        { encoding: "utf8" },
      );
      assert.equal(w.status, 0, w.stderr);
      const exp = spawn(
        "prometheus-node-exporter",
        [
          `--web.listen-address=127.0.0.${i + 1}:${exporterPort}`,
          "--collector.disable-defaults",
          "--collector.textfile",
          `--collector.textfile.directory=${textfile}`,
        ],
        { stdio: "ignore" },
      );
      procs.push(exp);
      await waitHttp(`http://127.0.0.${i + 1}:${exporterPort}/metrics`, 15_000);
    }
    const rules = join(dir, "rules.yml");
    writeFileSync(rules, obs.files[Object.keys(obs.files).find((f) => f.endsWith("rules.yml")) as string] as string);
    writeFileSync(join(dir, "api-key"), API_KEY);
    const inputs: ObsInputs = {
      head: "spark-head",
      nodes: [
        { name: "spark-head", host: "127.0.0.1" },
        { name: "spark-worker", host: "127.0.0.2" },
      ],
      vllmPort: standin.port,
      authenticated: true,
      speculative: true,
      webhook: false,
    };
    const planned = obs.files[Object.keys(obs.files).find((f) => f.endsWith("prometheus.yml")) as string] as string;
    const cfgText = prometheusConfig(loadClusterConfig(c, "plan").config.observability, inputs, {
      rules,
      apiKey: join(dir, "api-key"),
    });
    // What runs here is the plan's file with the two container paths pointed at this folder.
    assert.equal(
      cfgText,
      planned
        .replace('"/etc/prometheus/rules.yml"', JSON.stringify(rules))
        .replace('"/etc/prometheus/api-key"', JSON.stringify(join(dir, "api-key"))),
    );
    writeFileSync(join(dir, "prometheus.yml"), cfgText);
    const prom = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: "ignore" },
    );
    procs.push(prom);
    await waitHttp(`http://127.0.0.1:${promPort}/-/ready`, 30_000);
    // A first scrape of every target before the traffic: a counter first seen after the traffic ended
    // never changes in the window, and a ratio of its rates stays NaN (a loaded CI machine's first
    // scrape came that late once).
    for (const t0 = Date.now(); Date.now() - t0 < 30_000; await new Promise((r) => setTimeout(r, 200))) {
      const up = (await query("up")) as { value: [number, string] }[];
      if (up.length === 4 && up.every((u) => u.value[1] === "1")) break;
    }
    // Traffic while Prometheus scrapes every second: streamed completions, a few at a time.
    const chat = () =>
      fetch(`${standin.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "deepseek-v4",
          stream: true,
          messages: [{ role: "user", content: "hello" }],
          max_tokens: 16,
        }),
      }).then((r) => r.text());
    // The committed picture (UPDATE_DASHBOARD_SVG=1) gets a longer run whose load rises and falls.
    const long = process.env.UPDATE_DASHBOARD_SVG === "1";
    trafficStart = Date.now();
    const end = trafficStart + (long ? 60_000 : 6_000);
    while (Date.now() < end) {
      const phase = Math.floor(((Date.now() - trafficStart) / (end - trafficStart)) * 4);
      const n = long ? ([1, 4, 8, 2][phase] ?? 1) : 3;
      await Promise.all(Array.from({ length: n }, chat));
    }
    // Scrapes run late on a loaded machine: wait (at most 30 s) until every panel has something to
    // answer now and, since the traffic began, a finite point to draw (a ratio of two rates is NaN,
    // not absent, where a window saw no traffic).
    const deadline = Date.now() + 30_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1_000));
      let ready = true;
      for (const p of o.panels) {
        for (const t of p.targets) {
          if ((await query(t.expr)).length === 0 || (await drawable(t.expr)).length === 0) ready = false;
        }
      }
      if (ready || Date.now() > deadline) break;
    }
  });

  it("scrapes vLLM with the API key (the stand-in refuses /metrics without it) and both node exporters", async () => {
    const up = (await query("up")) as { metric: Record<string, string>; value: [number, string] }[];
    const byJob = up.map((u) => `${u.metric.job}/${u.metric.node}=${u.value[1]}`).sort();
    assert.deepEqual(byJob, [
      "node/spark-head=1",
      "node/spark-worker=1",
      "prometheus/spark-head=1",
      "vllm/spark-head=1",
    ]);
    const scrapes = standin.requests.filter((r) => r.path === "/metrics");
    assert.ok(scrapes.length > 0 && scrapes.every((r) => r.authorized), "every scrape carried the API key");
  });

  it("every dashboard panel's query returns data", async () => {
    for (const p of o.panels) {
      for (const t of p.targets) {
        const res = await query(t.expr);
        assert.ok(res.length > 0, `panel "${p.title}" query returned nothing: ${t.expr}`);
      }
    }
  });

  it("every series a rule or panel reads exists in what was scraped (no panel or rule on a made-up metric)", async () => {
    const names = new Set(planSeries(o));
    assert.ok(names.has("vllm:kv_cache_usage_perc") && names.has("dgx_spark_vllm_uma_available_bytes"));
    for (const n of names) {
      const r = await fetch(
        `http://127.0.0.1:${promPort}/api/v1/series?match[]=${encodeURIComponent(`{__name__="${n}"}`)}`,
      );
      const j = (await r.json()) as { data: unknown[] };
      assert.ok(j.data.length > 0, `no scraped series named ${n}`);
    }
  });

  it("the panels drawn from the real Prometheus's data (docs/img/dashboard-standin.svg with UPDATE_DASHBOARD_SVG=1)", async () => {
    const end = Math.ceil(Date.now() / 1000) + 1;
    const panels: PanelData[] = [];
    for (const p of o.panels) {
      const series: PanelData["series"][number][] = [];
      for (const t of p.targets) {
        for (const r of await drawable(t.expr, end)) {
          const name = t.legend.replace(/\{\{(\w+)\}\}/g, (_, k: string) => r.metric[k] ?? "");
          series.push({ name, points: r.points });
        }
      }
      assert.ok(series.length > 0, `panel "${p.title}" has nothing to draw since the traffic began`);
      panels.push({ title: p.title, unit: p.unit, series });
    }
    const svg = renderDashboardSvg(
      panels,
      "dgx-spark-vllm dashboard panels, from a real Prometheus scraping the test stand-in engine and node exporters (not a Spark)",
    );
    assert.equal(svg.match(/<g class="panel">/g)?.length, o.panels.length);
    if (process.env.UPDATE_DASHBOARD_SVG === "1") {
      const f = join(__dirname, "..", "..", "..", "docs", "img", "dashboard-standin.svg");
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, svg);
    }
  });

  it("the dashboard is valid Grafana JSON on the provisioned datasource, and the provisioning files point at it", () => {
    const dash = JSON.parse(o.files[Object.keys(o.files).find((f) => f.endsWith(".json")) as string] as string) as {
      uid: string;
      panels: {
        id: number;
        type: string;
        datasource: { uid: string };
        targets: { expr: string; refId: string }[];
        gridPos: { w: number; h: number };
      }[];
    };
    assert.equal(dash.panels.length, o.panels.length);
    const ids = new Set(dash.panels.map((p) => p.id));
    assert.equal(ids.size, dash.panels.length, "panel ids are unique");
    for (const p of dash.panels) {
      assert.equal(p.type, "timeseries");
      assert.equal(p.datasource.uid, DATASOURCE_UID);
      assert.ok(p.targets.length > 0 && p.targets.every((t) => t.expr && /^[A-Z]$/.test(t.refId)));
      assert.ok(p.gridPos.w > 0 && p.gridPos.h > 0);
    }
    const ds = o.files[Object.keys(o.files).find((f) => f.includes("datasources")) as string] as string;
    assert.match(ds, new RegExp(`uid: "${DATASOURCE_UID}"`));
    assert.match(ds, /url: "http:\/\/127\.0\.0\.1:9090"/);
    const prov = o.files[Object.keys(o.files).find((f) => f.includes("provisioning/dashboards")) as string] as string;
    assert.match(prov, /path: "\/var\/lib\/grafana\/dashboards"/);
  });
});

describe("the head's config step, run for real in a scratch root", () => {
  const o = obsOf(config());
  const step = observabilityConfigStep(o);
  const root = mkdtempSync(join(tmpdir(), "dgx-obs-step-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  /** The step with its absolute paths moved under `root` (the host's /etc and /var/lib stay untouched). */
  const relocate = (s: string) =>
    s
      .replaceAll("/etc/dgx-spark-vllm/", `${root}/etc/dgx-spark-vllm/`)
      .replaceAll("/var/lib/dgx-spark-vllm/", `${root}/var/lib/dgx-spark-vllm/`);
  const run = (s: string, input: string) => spawnSync("bash", ["-c", relocate(s)], { input, encoding: "utf8" });

  it("is shellcheck clean", (t) => {
    if (!have("shellcheck")) {
      if (IN_CI) assert.fail("shellcheck is not installed");
      t.skip("shellcheck is not installed");
      return;
    }
    for (const s of [step.create, step.delete]) {
      const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: s, encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout);
    }
  });

  it("writes every planned file, the secrets from stdin into files only their reader can read, the webhook into Alertmanager's config", (t) => {
    if (process.getuid?.() !== 0) {
      t.skip("needs root (chown to the containers' uids)");
      return;
    }
    for (const secret of [API_KEY, WEBHOOK, PASSWORD]) assert.ok(!step.create.includes(secret));
    const r = run(step.create, `${API_KEY}\n${WEBHOOK}\n${PASSWORD}\n`);
    assert.equal(r.status, 0, r.stderr);
    const at = (p: string) => `${root}${p}`;
    for (const [p, text] of Object.entries(o.files))
      assert.equal(readFileSync(at(p), "utf8").trimEnd(), text.trimEnd(), p);
    assert.equal(readFileSync(at(OBS_FILES.apiKey), "utf8"), API_KEY);
    assert.equal(readFileSync(at(OBS_FILES.adminPassword), "utf8"), PASSWORD);
    const am = readFileSync(at(OBS_FILES.alertmanagerConfig), "utf8");
    assert.match(am, new RegExp(`url: "${WEBHOOK.replace(/[./]/g, "\\$&")}"`));
    assert.doesNotMatch(am, /placeholder/);
    const st = (p: string) => statSync(at(p));
    assert.equal(st(OBS_FILES.apiKey).uid, 65534);
    assert.equal(st(OBS_FILES.apiKey).mode & 0o777, 0o400);
    assert.equal(st(OBS_FILES.adminPassword).uid, 472);
    assert.equal(st(OBS_FILES.alertmanagerConfig).mode & 0o777, 0o400);
    if (have("amtool")) assert.equal(spawnSync("amtool", ["check-config", at(OBS_FILES.alertmanagerConfig)]).status, 0);
    // Delete takes everything away again, folders included.
    const d = run(step.delete, "");
    assert.equal(d.status, 0, d.stderr);
    assert.ok(!existsSync(at("/etc/dgx-spark-vllm")), "nothing of ours is left under /etc");
  });
});
