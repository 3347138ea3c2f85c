/**
 * Observability (issue #16; docs/observability.md): what Prometheus scrapes, the alert rules,
 * Alertmanager's route to the existing webhook, the provisioned Grafana dashboard, and our node
 * metrics written by the UMA monitor for the node exporter's textfile collector. Pure: every file
 * is rendered text; the secrets (API key, webhook URL, Grafana admin password) are never in it:
 * Prometheus and Grafana read them from files that the deploy step writes from stdin.
 */
import type { ClusterConfig } from "../config/schema";
import { ANY, LOOPBACK, managementBind } from "./bind";
import type { ConfigProblem } from "../config/errors";
import { sh } from "../shell/sh";
import { removeManagedFile, script, undoScript, writeManagedFile } from "../shell/script";
import { vllmContainerName } from "./container";
import { roceGid } from "./launch";
import { dropCachesName } from "./service";
import { routerAlertRules, routerPanels, routerScrapeJob } from "./router-observability";
import { routerOnCluster } from "./router";
import type {
  AlertRule,
  DashboardPanel,
  HostStep,
  NodeMetricsSpec,
  NodePlan,
  ObsContainer,
  ObservabilityConfigPlan,
  ObservabilityPlan,
  RouterOnCluster,
} from "./types";
import { WATCHDOG_STATE_DIR } from "./watchdog";
import { DEFAULT_NAMES } from "./names";

/** The textfile collector's folder on every node (the node exporter container mounts it read-only). */
export const METRICS_DIR = "/var/lib/dgx-spark-vllm/metrics";
export const METRICS_FILE = `${METRICS_DIR}/dgx_spark_vllm.prom`;
/** Config files of Prometheus, Alertmanager and Grafana on the head. */
export const OBS_DIR = "/etc/dgx-spark-vllm/observability";
/** Grafana's datasource uid (the dashboard refers to it). */
export const DATASOURCE_UID = "dgx-spark-vllm-prometheus";
export const DASHBOARD_UID = "dgx-spark-vllm";
/** Where the deploy step puts the webhook URL in alertmanager.yml (the plan never holds it). */
export const WEBHOOK_PLACEHOLDER = "https://webhook.placeholder.invalid/dgx-spark-vllm";
/** uids the images run as: Prometheus, Alertmanager and the node exporter as nobody, Grafana as 472. */
const NOBODY = 65534;
const GRAFANA_UID = 472;

export type {
  AlertRule,
  DashboardPanel,
  NodeMetricsSpec,
  ObsContainer,
  ObservabilityConfigPlan,
  ObservabilityPlan,
} from "./types";

// ---- names ----------------------------------------------------------------------------------

export const OBS_CONTAINERS = {
  prometheus: "dgx-spark-vllm-prometheus",
  alertmanager: "dgx-spark-vllm-alertmanager",
  grafana: "dgx-spark-vllm-grafana",
  nodeExporter: "dgx-spark-vllm-node-exporter",
} as const;
export const OBS_VOLUMES = {
  prometheus: "dgx-spark-vllm-prometheus-data",
  grafana: "dgx-spark-vllm-grafana-data",
} as const;

const P = `${OBS_DIR}/prometheus`;
const A = `${OBS_DIR}/alertmanager`;
const G = `${OBS_DIR}/grafana`;
export const OBS_FILES = {
  prometheusConfig: `${P}/prometheus.yml`,
  rules: `${P}/rules.yml`,
  apiKey: `${P}/api-key`,
  alertmanagerTemplate: `${A}/alertmanager.yml.in`,
  alertmanagerConfig: `${A}/alertmanager.yml`,
  datasource: `${G}/provisioning/datasources/dgx-spark-vllm.yml`,
  dashboardProvider: `${G}/provisioning/dashboards/dgx-spark-vllm.yml`,
  dashboard: `${G}/dashboards/dgx-spark-vllm.json`,
  adminPassword: `${G}/admin-password`,
} as const;

// ---- a small YAML writer (plain data; strings always double-quoted, which YAML reads as JSON strings) ----

type Yaml = string | number | boolean | readonly Yaml[] | { readonly [k: string]: Yaml | undefined };

export function toYaml(v: Yaml, indent = 0): string {
  const pad = " ".repeat(indent);
  const scalar = (x: string | number | boolean) => (typeof x === "string" ? JSON.stringify(x) : String(x));
  if (Array.isArray(v)) {
    if (v.length === 0) return `${pad}[]`;
    return (v as readonly Yaml[])
      .map((item) => {
        if (item !== null && typeof item === "object") {
          const inner = toYaml(item, indent + 2);
          return `${pad}- ${inner.slice(indent + 2)}`;
        }
        return `${pad}- ${scalar(item as string | number | boolean)}`;
      })
      .join("\n");
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined) as [string, Yaml][];
    if (entries.length === 0) return `${pad}{}`;
    return entries
      .map(([k, x]) => {
        const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k);
        if (x !== null && typeof x === "object") {
          const empty = Array.isArray(x) ? x.length === 0 : Object.keys(x).length === 0;
          if (empty) return `${pad}${key}: ${Array.isArray(x) ? "[]" : "{}"}`;
          return `${pad}${key}:\n${toYaml(x, indent + 2)}`;
        }
        return `${pad}${key}: ${scalar(x as string | number | boolean)}`;
      })
      .join("\n");
  }
  return `${pad}${scalar(v as string | number | boolean)}`;
}

// ---- inputs the plan reads ----------------------------------------------------------------------

/** The part of the cluster plan the observability plan reads (so tests can render it for loopback). */
export interface ObsInputs {
  readonly head: string;
  /** Every node: name, how Prometheus reaches its exporter (the management host). */
  readonly nodes: readonly { readonly name: string; readonly host: string }[];
  readonly vllmPort: number;
  readonly authenticated: boolean;
  /** Speculative decoding is on (MTP or DSpark): the acceptance panels and alert apply. */
  readonly speculative: boolean;
  readonly webhook: boolean;
  /** serving.router on one of these nodes: scraped, alerted on, on the dashboard (src/plan/router-observability.ts). */
  readonly router?: RouterOnCluster;
}

/** How Prometheus on the head reaches vLLM (host networking): the head's loopback. */
export const VLLM_SCRAPE_HOST = "127.0.0.1";

// ---- Prometheus -------------------------------------------------------------------------------

export function prometheusConfig(
  o: ClusterConfig["observability"],
  i: ObsInputs,
  paths: { rules: string; apiKey: string } = { rules: OBS_FILES.rules, apiKey: "/etc/prometheus/api-key" },
): string {
  const interval = `${o.prometheus.scrapeIntervalSeconds}s`;
  const hostPort = (h: string, p: number) => `${h.includes(":") ? `[${h}]` : h}:${p}`;
  const doc = {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      external_labels: { cluster: "dgx-spark-vllm" },
    },
    rule_files: [paths.rules],
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [hostPort("127.0.0.1", o.alertmanager.port)] }] }],
    },
    scrape_configs: [
      {
        job_name: "vllm",
        metrics_path: "/metrics",
        ...(i.authenticated ? { authorization: { type: "Bearer", credentials_file: paths.apiKey } } : {}),
        static_configs: [{ targets: [hostPort(VLLM_SCRAPE_HOST, i.vllmPort)], labels: { node: i.head } }],
      },
      {
        job_name: "node",
        static_configs: i.nodes.map((n) => ({
          targets: [hostPort(n.host, o.nodeExporter.port)],
          labels: { node: n.name },
        })),
      },
      {
        job_name: "prometheus",
        static_configs: [{ targets: [hostPort("127.0.0.1", o.prometheus.port)], labels: { node: i.head } }],
      },
      ...(i.router ? [routerScrapeJob(i.router)] : []),
    ],
  };
  return `# Managed by dgx-spark-vllm (docs/observability.md). Rendered by the plan: edit the stack config, not this file.\n${toYaml(doc)}\n`;
}

// ---- alerts -----------------------------------------------------------------------------------

export function alertRules(o: ClusterConfig["observability"], i: ObsInputs, watchdog: boolean): AlertRule[] {
  const a = o.alerts;
  const rules: AlertRule[] = [
    {
      alert: "UmaHeadroomLow",
      expr: "dgx_spark_vllm_uma_available_bytes < dgx_spark_vllm_uma_threshold_bytes",
      for: "2m",
      severity: "critical",
      summary:
        "{{ $labels.node }}: free unified memory is under the alert threshold (a GB10 freezes silently when it runs out)",
    },
    {
      alert: "EngineDown",
      expr: 'up{job="vllm"} == 0',
      for: "2m",
      severity: "critical",
      summary: "vLLM on {{ $labels.node }} does not answer /metrics",
    },
    {
      alert: "NodeExporterDown",
      expr: 'up{job="node"} == 0',
      for: "5m",
      severity: "warning",
      summary:
        "the node exporter on {{ $labels.node }} does not answer: its UMA, link and watchdog metrics are missing",
    },
    {
      alert: "NodeMetricsStale",
      expr: "time() - dgx_spark_vllm_node_metrics_timestamp_seconds > 300",
      severity: "warning",
      summary: "{{ $labels.node }}: the UMA monitor has not written its metrics for 5 minutes (is its timer running?)",
    },
    ...(watchdog
      ? [
          {
            alert: "WatchdogRestartsOverBudget",
            expr: "dgx_spark_vllm_watchdog_restarts_last_hour >= dgx_spark_vllm_watchdog_max_restarts_per_hour or dgx_spark_vllm_watchdog_gave_up == 1",
            severity: "critical" as const,
            summary:
              "the watchdog on {{ $labels.node }} used its hourly restart budget or gave up (the ranks stay down until `dgx-spark-vllm-watchdog resume`)",
          },
        ]
      : []),
    {
      alert: "KvCacheSaturated",
      expr: `max by (node) (vllm:kv_cache_usage_perc) >= ${a.kvUsageSaturated}`,
      for: `${a.kvSaturatedMinutes}m`,
      severity: "warning",
      summary:
        `KV cache usage on {{ $labels.node }} at or above ${Math.round(a.kvUsageSaturated * 100)}%` +
        ` for ${a.kvSaturatedMinutes} minutes: requests queue or are preempted`,
    },
    {
      alert: "RoceLinkErrorsRising",
      expr: "sum by (node, device, port) (increase(dgx_spark_vllm_rdma_port_errors_total[10m])) > 0",
      severity: "warning",
      summary:
        "{{ $labels.node }}: RDMA error counters of {{ $labels.device }} port {{ $labels.port }} rose in the last 10 minutes",
    },
    {
      alert: "RoceGidMissing",
      expr: "dgx_spark_vllm_roce_gid_index < 0",
      for: "2m",
      severity: "critical",
      summary:
        "{{ $labels.node }}: no RoCE v2 GID for {{ $labels.address }} on {{ $labels.hca }} (the post-reboot quirk: NCCL hangs)",
    },
    ...(i.speculative
      ? [
          {
            alert: "SpecAcceptanceCollapsed",
            expr:
              `(sum by (node) (rate(vllm:spec_decode_num_accepted_tokens_total[10m]))` +
              ` / sum by (node) (rate(vllm:spec_decode_num_draft_tokens_total[10m]))) < ${a.acceptanceRateBelow}`,
            for: "10m",
            severity: "warning" as const,
            summary:
              `speculative acceptance on {{ $labels.node }} under ${Math.round(a.acceptanceRateBelow * 100)}% for 10 minutes` +
              `: decoding is slower than without it`,
          },
        ]
      : []),
    ...(i.router ? routerAlertRules() : []),
  ];
  return rules;
}

export function rulesFile(rules: readonly AlertRule[]): string {
  const doc = {
    groups: [
      {
        name: "dgx-spark-vllm",
        rules: rules.map((r) => ({
          alert: r.alert,
          expr: r.expr,
          ...(r.for ? { for: r.for } : {}),
          labels: { severity: r.severity },
          annotations: { summary: r.summary },
        })),
      },
    ],
  };
  return `# Managed by dgx-spark-vllm (docs/observability.md).\n${toYaml(doc)}\n`;
}

/** Alertmanager: every alert to the webhook (hardening.webhookUrl), or nowhere when none is set. */
export function alertmanagerConfig(webhookUrl: string | undefined): string {
  const doc = {
    route: {
      receiver: webhookUrl ? "webhook" : "none",
      group_by: ["alertname", "node"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
    },
    receivers: webhookUrl
      ? [{ name: "webhook", webhook_configs: [{ url: webhookUrl, send_resolved: true }] }]
      : [{ name: "none" }],
  };
  return `# Managed by dgx-spark-vllm (docs/observability.md).\n${toYaml(doc)}\n`;
}

// ---- dashboard --------------------------------------------------------------------------------

export function dashboardPanels(i: ObsInputs, watchdog: boolean): DashboardPanel[] {
  return [
    ...enginePanels(),
    ...(i.speculative ? [speculativePanel()] : []),
    memoryPanel(),
    ...(watchdog ? [watchdogPanel()] : []),
    ...linkPanels(),
    ...(i.router ? routerPanels(i.router) : []),
  ];
}

/** vLLM's own series: throughput, latency percentiles, the batch and queue, KV and prefix cache. */
function enginePanels(): DashboardPanel[] {
  const q = (p: number, m: string) => `histogram_quantile(${p}, sum by (le) (rate(${m}_bucket[5m])))`;
  return [
    {
      title: "Tokens per second",
      unit: "short",
      description: "Prompt (prefill) and generation tokens per second, from vLLM's counters.",
      targets: [
        { expr: "sum(rate(vllm:prompt_tokens_total[1m]))", legend: "prompt" },
        { expr: "sum(rate(vllm:generation_tokens_total[1m]))", legend: "generation" },
      ],
    },
    {
      title: "Time to first token",
      unit: "s",
      description: "TTFT percentiles over 5 minutes.",
      targets: [0.5, 0.95, 0.99].map((p) => ({
        expr: q(p, "vllm:time_to_first_token_seconds"),
        legend: `p${p * 100}`,
      })),
    },
    {
      title: "Inter-token latency",
      unit: "s",
      description: "Time between output tokens, percentiles over 5 minutes.",
      targets: [0.5, 0.95, 0.99].map((p) => ({
        expr: q(p, "vllm:inter_token_latency_seconds"),
        legend: `p${p * 100}`,
      })),
    },
    {
      title: "Requests running and waiting",
      unit: "short",
      description: "Requests in the running batch and in the queue.",
      targets: [
        { expr: "sum(vllm:num_requests_running)", legend: "running" },
        { expr: "sum(vllm:num_requests_waiting)", legend: "waiting" },
      ],
    },
    {
      title: "KV cache usage",
      unit: "percentunit",
      description: "Fraction of KV cache blocks in use (1 = full).",
      targets: [{ expr: "max(vllm:kv_cache_usage_perc)", legend: "KV usage" }],
    },
    {
      title: "Prefix cache hit rate",
      unit: "percentunit",
      description: "Prefix-cache hits over queries (tokens), over 5 minutes.",
      targets: [
        {
          expr: "sum(rate(vllm:prefix_cache_hits_total[5m])) / sum(rate(vllm:prefix_cache_queries_total[5m]))",
          legend: "hit rate",
        },
      ],
    },
  ];
}

/** Speculative decoding's acceptance (MTP or DSpark). */
function speculativePanel(): DashboardPanel {
  return {
    title: "Speculative decoding",
    unit: "short",
    description:
      "Acceptance rate (accepted over drafted tokens) and mean accepted length (1 + accepted tokens per draft) over 5 minutes: they decide the decode speed.",
    targets: [
      {
        expr: "sum(rate(vllm:spec_decode_num_accepted_tokens_total[5m])) / sum(rate(vllm:spec_decode_num_draft_tokens_total[5m]))",
        legend: "acceptance rate",
      },
      {
        expr: "1 + sum(rate(vllm:spec_decode_num_accepted_tokens_total[5m])) / sum(rate(vllm:spec_decode_num_drafts_total[5m]))",
        legend: "mean accepted length",
      },
    ],
  };
}

/** Our node metrics: free unified memory per node against the UMA alert threshold. */
function memoryPanel(): DashboardPanel {
  return {
    title: "Free unified memory per node",
    unit: "bytes",
    description: "MemAvailable per node, with the UMA alert threshold.",
    targets: [
      { expr: "dgx_spark_vllm_uma_available_bytes", legend: "{{node}} available" },
      { expr: "dgx_spark_vllm_uma_threshold_bytes", legend: "{{node}} threshold" },
    ],
  };
}

/** Our node metrics: the watchdog's restarts against its hourly cap. */
function watchdogPanel(): DashboardPanel {
  return {
    title: "Watchdog restarts",
    unit: "short",
    description: "Restarts of every rank in the last hour, and the hourly cap.",
    targets: [
      { expr: "dgx_spark_vllm_watchdog_restarts_last_hour", legend: "restarts (last hour)" },
      { expr: "dgx_spark_vllm_watchdog_max_restarts_per_hour", legend: "cap" },
    ],
  };
}

/** Our node metrics: the RoCE ports' error, retransmit and byte counters. */
function linkPanels(): DashboardPanel[] {
  return [
    {
      title: "RoCE link errors and retransmits",
      unit: "short",
      description: "Increase of the RDMA error and retransmission counters over 10 minutes, per port.",
      targets: [
        {
          expr: "sum by (node, device) (increase(dgx_spark_vllm_rdma_port_errors_total[10m]))",
          legend: "{{node}} {{device}} errors",
        },
        {
          expr: "sum by (node, device) (increase(dgx_spark_vllm_rdma_port_retransmits_total[10m]))",
          legend: "{{node}} {{device}} retransmits",
        },
      ],
    },
    {
      title: "RoCE link throughput",
      unit: "Bps",
      description: "Data bytes per second over the data plane, per port and direction.",
      targets: [
        {
          expr: "sum by (node, device, direction) (rate(dgx_spark_vllm_rdma_port_bytes_total[5m]))",
          legend: "{{node}} {{device}} {{direction}}",
        },
      ],
    },
  ];
}

/** The dashboard (Grafana JSON model), two panels a row. */
export function dashboardJson(panels: readonly DashboardPanel[]): string {
  const dash = {
    uid: DASHBOARD_UID,
    title: "DeepSeek-V4-Flash on DGX Spark",
    tags: ["dgx-spark-vllm"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    panels: panels.map((p, n) => ({
      id: n + 1,
      type: "timeseries",
      title: p.title,
      description: p.description,
      datasource: { type: "prometheus", uid: DATASOURCE_UID },
      gridPos: { h: 8, w: 12, x: (n % 2) * 12, y: Math.floor(n / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: { legend: { displayMode: "list", placement: "bottom", showLegend: true } },
      targets: p.targets.map((t, k) => ({
        refId: String.fromCharCode(65 + k),
        datasource: { type: "prometheus", uid: DATASOURCE_UID },
        expr: t.expr,
        legendFormat: t.legend,
      })),
    })),
  };
  return `${JSON.stringify(dash, null, 2)}\n`;
}

export function grafanaDatasource(prometheusPort: number): string {
  return `# Managed by dgx-spark-vllm.\n${toYaml({
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: DATASOURCE_UID,
        type: "prometheus",
        access: "proxy",
        url: `http://127.0.0.1:${prometheusPort}`,
        isDefault: true,
        editable: false,
      },
    ],
  })}\n`;
}

export function grafanaDashboardProvider(): string {
  return `# Managed by dgx-spark-vllm.\n${toYaml({
    apiVersion: 1,
    providers: [
      {
        name: "dgx-spark-vllm",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: "/var/lib/grafana/dashboards" },
      },
    ],
  })}\n`;
}

// ---- containers -------------------------------------------------------------------------------

/** `--web.listen-address`'s value: `:port` for every interface, `addr:port` or `[v6]:port`. */
function listenAddress(bind: string, port: number): string {
  if (bind === ANY) return `:${port}`;
  return `${bind.includes(":") ? `[${bind}]` : bind}:${port}`;
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * One warning when observability is on and an image is pinned by tag only: a tag can move, so
 * two deploys (or the head and a worker) may run different builds. The defaults are tags because
 * their digests were never read here (no registry is reachable); the user pins what they validated.
 */
export function observabilityImageWarnings(config: ClusterConfig): ConfigProblem[] {
  const o = config.observability;
  if (!o.enabled) return [];
  const loose = (["prometheus", "alertmanager", "grafana", "nodeExporter"] as const)
    .map((k) => ({ key: k, image: o[k].image }))
    .filter((x) => !x.image.includes("@sha256:"));
  if (loose.length === 0) return [];
  return [
    {
      path: "observability",
      message:
        `images on a tag alone: ${loose.map((x) => `${x.key}.image ${x.image}`).join(", ")}` +
        `; a tag can move, so two deploys may run different builds` +
        `; pin each as name:tag@sha256:<digest> of the build you validated` +
        ` (docker buildx imagetools inspect ${loose[0]?.image} prints it)`,
    },
  ];
}

/** The whole observability plan, or `{ enabled: false }`. */
export function observabilityPlan(
  config: ClusterConfig,
  nodes: readonly NodePlan[],
  head: string,
  watchdog: boolean,
  speculative: boolean,
): ObservabilityConfigPlan {
  const o = config.observability;
  if (!o.enabled) return { enabled: false };
  const headNode = nodes.find((n) => n.name === head) as NodePlan;
  const inputs: ObsInputs = {
    head,
    nodes: nodes.map((n) => ({ name: n.name, host: n.ssh.host })),
    vllmPort: config.serving.port,
    authenticated: !config.serving.allowUnauthenticated,
    speculative,
    webhook: config.hardening.webhookUrl !== undefined,
    ...(config.serving.router.enabled ? { router: routerOnCluster(config, nodes, DEFAULT_NAMES) } : {}),
  };
  const alerts = alertRules(o, inputs, watchdog);
  const panels = dashboardPanels(inputs, watchdog);
  return {
    enabled: true,
    head,
    prometheus: prometheusContainer(o, inputs, headNode),
    alertmanager: alertmanagerContainer(o),
    grafana: grafanaContainer(o, headNode),
    nodeExporters: Object.fromEntries(nodes.map((n) => [n.name, nodeExporterContainer(o, n.ssh.host)])),
    volumes: [OBS_VOLUMES.prometheus, OBS_VOLUMES.grafana],
    keepDataOnDestroy: o.keepDataOnDestroy,
    files: observabilityFiles(o, inputs, alerts, panels),
    secretFiles: observabilitySecretFiles(inputs),
    alerts,
    panels,
    metricsFile: METRICS_FILE,
    nodeMetrics: Object.fromEntries(
      nodes.map((n) => [
        n.name,
        nodeMetricsSpec(config, n, {
          enabled: watchdog,
          maxRestartsPerHour: config.serving.watchdog.maxRestartsPerHour,
        }),
      ]),
    ),
  };
}

/** The rendered config files on the head, by path (no secret in any). */
function observabilityFiles(
  o: ClusterConfig["observability"],
  inputs: ObsInputs,
  alerts: readonly AlertRule[],
  panels: readonly DashboardPanel[],
): Record<string, string> {
  return {
    [OBS_FILES.prometheusConfig]: prometheusConfig(o, inputs, {
      rules: "/etc/prometheus/rules.yml",
      apiKey: "/etc/prometheus/api-key",
    }),
    [OBS_FILES.rules]: rulesFile(alerts),
    [OBS_FILES.alertmanagerTemplate]: alertmanagerConfig(inputs.webhook ? WEBHOOK_PLACEHOLDER : undefined),
    [OBS_FILES.datasource]: grafanaDatasource(o.prometheus.port),
    [OBS_FILES.dashboardProvider]: grafanaDashboardProvider(),
    [OBS_FILES.dashboard]: dashboardJson(panels),
  };
}

/** The files the deploy step writes from stdin (secrets), by path, with what each holds. */
function observabilitySecretFiles(inputs: ObsInputs): Record<string, string> {
  return {
    [OBS_FILES.alertmanagerConfig]: inputs.webhook
      ? "alertmanager.yml.in with the webhook URL (hardening.webhookUrl) in place of the placeholder"
      : "alertmanager.yml.in (no webhook set: alerts are shown, not sent)",
    [OBS_FILES.adminPassword]: "observability.grafana.adminPassword",
    ...(inputs.authenticated ? { [OBS_FILES.apiKey]: "serving.apiKey (Prometheus sends it to vLLM's /metrics)" } : {}),
  };
}

/** Prometheus on the head: scrapes the engine and the exporters, evaluates the rules. */
function prometheusContainer(
  o: ClusterConfig["observability"],
  inputs: ObsInputs,
  headNode: NodePlan,
): ObservabilityPlan["prometheus"] {
  // Grafana (datasource on 127.0.0.1) and our tools run on the head: loopback unless the config says all.
  const bind = o.prometheus.listen === "all" ? ANY : LOOPBACK;
  return {
    name: OBS_CONTAINERS.prometheus,
    image: o.prometheus.image,
    port: o.prometheus.port,
    retention: o.prometheus.retention,
    bind,
    url: urlOf(bind === LOOPBACK ? LOOPBACK : headNode.ssh.host, o.prometheus.port),
    command: [
      "--config.file=/etc/prometheus/prometheus.yml",
      "--storage.tsdb.path=/prometheus",
      `--storage.tsdb.retention.time=${o.prometheus.retention}`,
      `--web.listen-address=${listenAddress(bind, o.prometheus.port)}`,
    ],
    mounts: [
      { source: OBS_FILES.prometheusConfig, target: "/etc/prometheus/prometheus.yml", readOnly: true },
      { source: OBS_FILES.rules, target: "/etc/prometheus/rules.yml", readOnly: true },
      ...(inputs.authenticated
        ? [{ source: OBS_FILES.apiKey, target: "/etc/prometheus/api-key", readOnly: true }]
        : []),
      { source: OBS_VOLUMES.prometheus, target: "/prometheus", readOnly: false, volume: true },
    ],
    env: {},
  };
}

/** Alertmanager on the head, on loopback. */
function alertmanagerContainer(o: ClusterConfig["observability"]): ObsContainer {
  return {
    name: OBS_CONTAINERS.alertmanager,
    image: o.alertmanager.image,
    port: o.alertmanager.port,
    bind: LOOPBACK,
    command: [
      "--config.file=/etc/alertmanager/alertmanager.yml",
      "--storage.path=/alertmanager",
      // Only Prometheus on the head talks to it: loopback, so nobody on the network can silence alerts.
      `--web.listen-address=127.0.0.1:${o.alertmanager.port}`,
      // Alertmanager's cluster gossip is for HA pairs; one instance needs none (and no port 9094).
      "--cluster.listen-address=",
    ],
    mounts: [{ source: OBS_FILES.alertmanagerConfig, target: "/etc/alertmanager/alertmanager.yml", readOnly: true }],
    env: {},
  };
}

/** Grafana on the head, provisioned with the datasource and the dashboard. */
function grafanaContainer(o: ClusterConfig["observability"], headNode: NodePlan): ObservabilityPlan["grafana"] {
  return {
    name: OBS_CONTAINERS.grafana,
    image: o.grafana.image,
    port: o.grafana.port,
    // Browsers reach it through the management network: bound there where the head's host is an address.
    bind: managementBind(headNode.ssh.host),
    url: urlOf(headNode.ssh.host, o.grafana.port),
    adminUser: "admin",
    command: [],
    mounts: [
      { source: `${G}/provisioning`, target: "/etc/grafana/provisioning", readOnly: true },
      { source: `${G}/dashboards`, target: "/var/lib/grafana/dashboards", readOnly: true },
      { source: OBS_FILES.adminPassword, target: "/run/secrets/grafana-admin-password", readOnly: true },
      { source: OBS_VOLUMES.grafana, target: "/var/lib/grafana", readOnly: false, volume: true },
    ],
    env: {
      GF_SECURITY_ADMIN_USER: "admin",
      GF_SECURITY_ADMIN_PASSWORD__FILE: "/run/secrets/grafana-admin-password",
      GF_SERVER_HTTP_PORT: String(o.grafana.port),
      ...(managementBind(headNode.ssh.host) === ANY ? {} : { GF_SERVER_HTTP_ADDR: headNode.ssh.host }),
      GF_USERS_ALLOW_SIGN_UP: "false",
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: "/var/lib/grafana/dashboards/dgx-spark-vllm.json",
    },
  };
}

/**
 * A node exporter: the host's metrics and the UMA monitor's textfile. Only Prometheus on the head
 * reads it, through the node's management address: bound there where the host is an address.
 */
function nodeExporterContainer(o: ClusterConfig["observability"], host: string): ObsContainer {
  const bind = managementBind(host);
  return {
    name: OBS_CONTAINERS.nodeExporter,
    image: o.nodeExporter.image,
    port: o.nodeExporter.port,
    bind,
    command: [
      `--web.listen-address=${listenAddress(bind, o.nodeExporter.port)}`,
      "--path.rootfs=/host",
      `--collector.textfile.directory=${METRICS_DIR}`,
    ],
    mounts: [
      { source: "/", target: "/host", readOnly: true },
      { source: METRICS_DIR, target: METRICS_DIR, readOnly: true },
    ],
    env: {},
  };
}

// ---- host steps -------------------------------------------------------------------------------

/**
 * The head's config files. stdin, three lines: the API key (or empty), the webhook URL (or
 * empty), the Grafana admin password. Each secret goes to a 0400 file owned by the uid of the
 * container that reads it; none is in this script's text.
 */
export function observabilityConfigStep(plan: ObservabilityPlan): HostStep {
  const f = OBS_FILES;
  return {
    id: "observability-config",
    description: `Prometheus, Alertmanager and Grafana config under ${OBS_DIR} (API key, webhook URL and Grafana password read on stdin)`,
    create: script(
      "key=; hook=; pass=; IFS= read -r key || true; IFS= read -r hook || true; IFS= read -r pass || true",
      ...Object.entries(plan.files).map(([path, text]) => writeManagedFile(path, text, "0644")),
      sh`$SUDO install -d -m 0755 ${`${G}/provisioning`} ${`${G}/dashboards`} ${P} ${A}`,
      // The secrets: written through stdin of tee, never on a command line.
      sh`if [ -n "$key" ]; then printf '%s' "$key" | $SUDO tee ${f.apiKey} >/dev/null` +
        sh`; $SUDO chown ${NOBODY} ${f.apiKey}; $SUDO chmod 0400 ${f.apiKey}` +
        sh`; else $SUDO rm -f ${f.apiKey}; fi`,
      sh`if [ -n "$hook" ]; then HOOK="$hook" python3 -c 'import os,sys; t=open(sys.argv[1]).read();` +
        sh` sys.stdout.write(t.replace(sys.argv[2], os.environ["HOOK"]))` +
        sh`' ${f.alertmanagerTemplate} ${WEBHOOK_PLACEHOLDER} | $SUDO tee ${f.alertmanagerConfig} >/dev/null` +
        sh`; else $SUDO cp ${f.alertmanagerTemplate} ${f.alertmanagerConfig}; fi`,
      sh`$SUDO chown ${NOBODY} ${f.alertmanagerConfig}; $SUDO chmod 0400 ${f.alertmanagerConfig}`,
      sh`printf '%s' "$pass" | $SUDO tee ${f.adminPassword} >/dev/null; $SUDO chown ${GRAFANA_UID} ${f.adminPassword}; $SUDO chmod 0400 ${f.adminPassword}`,
      // Running already (a changed key or webhook URL): both re-read their config on SIGHUP.
      sh`docker kill -s HUP ${OBS_CONTAINERS.prometheus} ${OBS_CONTAINERS.alertmanager} >/dev/null 2>&1 || true`,
    ),
    delete: undoScript(
      sh`$SUDO rm -f ${f.apiKey} ${f.alertmanagerConfig} ${f.adminPassword}`,
      // Last written, first removed: the first file's journal holds the folders made for it.
      ...Object.keys(plan.files)
        .reverse()
        .map((path) => removeManagedFile(path)),
      // Folders made by `install -d` above, then ours, each only when empty (the UMA monitor may still use /etc/dgx-spark-vllm).
      ...[
        `${G}/provisioning/datasources`,
        `${G}/provisioning/dashboards`,
        `${G}/provisioning`,
        `${G}/dashboards`,
        G,
        P,
        A,
        OBS_DIR,
        "/etc/dgx-spark-vllm",
      ].map((d) => sh`if [ -d ${d} ]; then $SUDO rmdir ${d} 2>/dev/null || true; fi`),
    ),
    after: [],
  };
}

/** What the UMA monitor on `node` writes for the textfile collector. */
export function nodeMetricsSpec(
  config: ClusterConfig,
  node: NodePlan,
  watchdog: { enabled: boolean; maxRestartsPerHour: number },
): NodeMetricsSpec {
  return {
    file: METRICS_FILE,
    mtu: config.link.mtu,
    ports: node.dataPlane.map((p) => ({ netdev: p.netdev, hca: p.hca, address: p.address, gid: roceGid(p.address) })),
    ...(node.role === "head" && watchdog.enabled
      ? { watchdog: { dir: WATCHDOG_STATE_DIR, maxRestartsPerHour: watchdog.maxRestartsPerHour } }
      : {}),
    container: vllmContainerName(node.name),
    ...(config.hardening.dropCachesDuringLoad ? { sidecar: dropCachesName(node) } : {}),
  };
}

/** The variable block and files that make the monitor write the metrics (src/host/node-metrics.sh). */
export function nodeMetricsVars(m: NodeMetricsSpec): Record<string, string | number | readonly string[]> {
  return {
    METRICS_FILE: m.file,
    MTU: m.mtu,
    NETDEV: m.ports.map((p) => p.netdev),
    HCA: m.ports.map((p) => p.hca),
    GID: m.ports.map((p) => p.gid),
    ADDRESS: m.ports.map((p) => p.address),
    WATCHDOG_DIR: m.watchdog?.dir ?? "",
    MAX_RESTARTS_PER_HOUR: m.watchdog?.maxRestartsPerHour ?? 0,
    CONTAINER: m.container,
    SIDECAR: m.sidecar ?? "",
  };
}
