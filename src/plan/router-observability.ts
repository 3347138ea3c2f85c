/**
 * The router in Prometheus and Grafana (serving.router with observability.enabled): the scrape job
 * of its metrics listener, its alerts and its dashboard panels. The replica whose nodes include the
 * router's node scrapes it (src/plan/router.ts routerOnCluster); src/plan/observability.ts adds
 * these to its files.
 *
 * The series are only ones seen on a real vllm-router 0.1.17's /metrics here, after traffic
 * (test/router/real-router.test.ts asserts each of ROUTER_SERIES has data there):
 * vllm_router_requests_total{route}, vllm_router_processed_requests_total{worker},
 * vllm_router_running_requests{worker}, vllm_router_worker_health{worker},
 * vllm_router_active_workers, vllm_router_generate_duration_seconds (histogram),
 * vllm_router_prefix_routing_decisions_total{policy,stage,outcome}, and, not used here,
 * vllm_router_policy_decisions_total, vllm_router_kv_routing_inputs_total,
 * vllm_router_cb_outcomes_total and vllm_router_cb_state.
 */
import type { AlertRule, DashboardPanel, RouterOnCluster } from "./types";

/** The scrape job's name (its `up` series is the router-down alert's). */
export const ROUTER_JOB = "vllm-router";

/** Prometheus's job for the router's metrics listener (no key: vllm-router serves /metrics on its own port, open). */
export function routerScrapeJob(r: RouterOnCluster) {
  const host = r.host.includes(":") ? `[${r.host}]` : r.host;
  return {
    job_name: ROUTER_JOB,
    metrics_path: "/metrics",
    static_configs: [{ targets: [`${host}:${r.metricsPort}`], labels: { node: r.node } }],
  };
}

export function routerAlertRules(): AlertRule[] {
  return [
    {
      alert: "RouterDown",
      expr: `up{job="${ROUTER_JOB}"} == 0`,
      for: "2m",
      severity: "critical",
      summary:
        "vLLM's router on {{ $labels.node }} does not answer on its metrics port" +
        ": the cluster's endpoint is down" +
        " (systemctl status of its unit; the replicas' own endpoints still answer)",
    },
    {
      alert: "RouterWorkerUnhealthy",
      expr: "vllm_router_worker_health == 0",
      for: "2m",
      severity: "warning",
      summary:
        "the router on {{ $labels.node }} marks the replica {{ $labels.worker }} unhealthy and sends it no requests",
    },
  ];
}

export function routerPanels(r: RouterOnCluster): DashboardPanel[] {
  const q = (p: number) =>
    `histogram_quantile(${p}, sum by (le) (rate(vllm_router_generate_duration_seconds_bucket[5m])))`;
  return [
    {
      title: "Router: requests per second",
      unit: "reqps",
      description:
        "Requests the router received (all routes), and those it sent to each replica (its workers), per second.",
      targets: [
        { expr: "sum(rate(vllm_router_requests_total[1m]))", legend: "received" },
        { expr: "sum by (worker) (rate(vllm_router_processed_requests_total[1m]))", legend: "{{worker}}" },
      ],
    },
    {
      title: "Router: workers healthy and running requests",
      unit: "short",
      description:
        "Its health check's verdict per replica (1 healthy, 0 not: it sends no requests there), the workers it routes to, and the requests in flight on each.",
      targets: [
        { expr: "vllm_router_worker_health", legend: "{{worker}} healthy" },
        { expr: "vllm_router_active_workers", legend: "workers" },
        { expr: "vllm_router_running_requests", legend: "{{worker}} running" },
      ],
    },
    {
      title: "Router: request duration",
      unit: "s",
      description:
        "Per-request duration as vllm-router measures it (vllm_router_generate_duration_seconds, one observation per routed request)" +
        ", percentiles over 5 minutes.",
      targets: [0.5, 0.95].map((p) => ({ expr: q(p), legend: `p${p * 100}` })),
    },
    ...(r.policy === "cache_aware"
      ? [
          {
            title: "Router: prefix routing (cache_aware)",
            unit: "short",
            description:
              "cache_aware's decisions per second by outcome:" +
              " prefix_hit sent a request to the replica holding its prefix;" +
              " missing_tokens means the engines do not render token ids (--enable-scale-out, docs/router.md)" +
              " and prefixes are not used.",
            targets: [
              {
                expr: "sum by (outcome) (rate(vllm_router_prefix_routing_decisions_total[5m]))",
                legend: "{{outcome}}",
              },
            ],
          },
        ]
      : []),
  ];
}

/** Every vllm_router_* series name the panels and rules read (a histogram by its _bucket series). */
export function routerSeriesRead(panels: readonly DashboardPanel[], rules: readonly AlertRule[]): string[] {
  const exprs = [...panels.flatMap((p) => p.targets.map((t) => t.expr)), ...rules.map((r) => r.expr)];
  return [...new Set(exprs.flatMap((e) => e.match(/vllm_router_[a-z_]+/g) ?? []))].sort();
}
