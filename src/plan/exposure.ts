/**
 * Who can reach what: every port a deployment opens on each node, from the plan itself (so the
 * table in docs/exposure.md, `plan` and `doctor`'s exposure check cannot drift from what runs).
 * Each row says the process, the address it binds, who needs to reach it and what guards it.
 *
 * Sources for what the plan does not set itself (vLLM 0.33.0, read in the pinned venv):
 * - vLLM's API key guards only the paths under /v1, /v2, /inference and /cohere
 *   (vllm/entrypoints/serve/middleware/authenticate.py, GUARDED_PREFIX).
 * - The ranks' rendezvous is torch's TCPStore on rank 0 at --master-port
 *   (vllm/distributed/utils.py); its server listens on every interface (torch sets no bind address).
 * - vLLM's cross-node message queues bind VLLM_HOST_IP on a free port
 *   (vllm/distributed/device_communicators/shm_broadcast.py); NCCL and Gloo bind the address of
 *   NCCL_SOCKET_IFNAME / GLOO_SOCKET_IFNAME (both the data-plane netdev, src/plan/env.ts).
 */
import { ANY, LOOPBACK } from "./bind";
import { type RouterServicePlan, routerBinds, VLLM_ROUTER_VERSION } from "./router";
import type { ClusterPlan, NodePlan, PortEntry } from "./types";

export type { PortEntry } from "./types";

/** The value after `flag` in an argv, or undefined. */
function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

function sshdRow(n: NodePlan): PortEntry {
  return {
    node: n.name,
    port: n.ssh.port,
    process: "sshd (the host's own; not opened by this deployment)",
    bind: "the host's sshd setting",
    reach:
      "the operator's machine (pulumi up, doctor, status, logs, repair); the head (weights copy, delivery head-then-copy)",
    guard: "SSH keys",
    managed: false,
  };
}

function apiRow(plan: ClusterPlan, n: NodePlan): PortEntry {
  const guard = plan.cluster.authenticated
    ? "serving.apiKey (Bearer) on /v1/*; /health, /metrics, /version and /tokenize answer without it"
    : "none: serving.allowUnauthenticated";
  return {
    node: n.name,
    port: plan.cluster.port,
    process: "vllm serve: the OpenAI-compatible API",
    bind: flagValue(n.serveArgv, "--host") ?? ANY,
    reach: "clients and the router on the network; Prometheus, the readiness gate and the watchdog on the head",
    guard,
    managed: true,
    setting: "serving.port",
  };
}

/** The ranks' traffic between nodes: the rendezvous on the head, then NCCL, Gloo and vLLM's queues. */
function dataPlaneRows(plan: ClusterPlan, n: NodePlan): PortEntry[] {
  const rows: PortEntry[] = [];
  const peers = "the other ranks, over the data-plane link";
  if (n.role === "head")
    rows.push({
      node: n.name,
      port: plan.link.masterPort,
      process:
        plan.cluster.launcher === "ray"
          ? "Ray's GCS (ray start --head --port)"
          : "the ranks' rendezvous (torch TCPStore on rank 0, --master-port)",
      bind: ANY,
      reach: peers,
      guard:
        "none, and wider than its users need: the server binds every interface and has no setting for it; " +
        "firewall the port to the data-plane subnet on a shared management network",
      managed: true,
      setting: "link.masterPort",
    });
  rows.push({
    node: n.name,
    port: "ephemeral",
    process:
      plan.cluster.launcher === "ray"
        ? "Ray's raylet, object manager and workers; NCCL and Gloo"
        : "NCCL and Gloo bootstrap, vLLM's cross-node message queues",
    bind: plan.cluster.launcher === "ray" ? ANY : n.address,
    reach: peers,
    guard: "none: the data-plane link carries only the cluster's traffic (a cable, or a switch of its own)",
    managed: true,
  });
  return rows;
}

function observabilityRows(plan: ClusterPlan, n: NodePlan): PortEntry[] {
  const o = plan.observability;
  if (!o.enabled) return [];
  const rows: PortEntry[] = [];
  const exporter = o.nodeExporters[n.name];
  if (n.name === o.head) {
    rows.push(
      {
        node: n.name,
        port: o.prometheus.port,
        process: "Prometheus",
        bind: o.prometheus.bind,
        reach:
          o.prometheus.bind === LOOPBACK
            ? "Grafana and our tools on the head (elsewhere: ssh -L)"
            : "Grafana on the head; anyone observability.prometheus.listen: all lets in",
        guard: o.prometheus.bind === LOOPBACK ? "loopback only" : "none (Prometheus has no authentication here)",
        managed: true,
        setting: "observability.prometheus.port, observability.prometheus.listen",
      },
      {
        node: n.name,
        port: o.alertmanager.port,
        process: "Alertmanager",
        bind: o.alertmanager.bind,
        reach: "Prometheus on the head",
        guard: "loopback only",
        managed: true,
        setting: "observability.alertmanager.port",
      },
      {
        node: n.name,
        port: o.grafana.port,
        process: "Grafana",
        bind: o.grafana.bind,
        reach: "the operators' browsers, over the management network",
        guard: "observability.grafana.adminPassword; sign-up off",
        managed: true,
        setting: "observability.grafana.port",
      },
    );
  }
  if (exporter)
    rows.push({
      node: n.name,
      port: exporter.port,
      process: "node exporter (host metrics, the UMA monitor's textfile)",
      bind: exporter.bind,
      reach: "Prometheus on the head, over the management network",
      guard: "none (read-only metrics)",
      managed: true,
      setting: "observability.nodeExporter.port",
    });
  return rows;
}

/** Every port the cluster opens (and the sshd it needs), node by node. */
export function clusterExposure(plan: Omit<ClusterPlan, "exposure">): PortEntry[] {
  const p = plan as ClusterPlan;
  const r = p.router;
  return p.nodes.flatMap((n) => [
    sshdRow(n),
    ...(n.role === "head" ? [apiRow(p, n)] : []),
    ...dataPlaneRows(p, n),
    ...observabilityRows(p, n),
    // vllm-router (serving.router) on this node: bound as planRouterService's argv binds it.
    ...(r && r.node === n.name
      ? routerRows(n.name, r.port, r.metricsPort, {
          version: VLLM_ROUTER_VERSION,
          bind: routerBinds(r.host).api,
          metricsBind: routerBinds(r.host).metrics,
          authenticated: p.cluster.authenticated,
        })
      : []),
  ]);
}

/** The router's two listeners on its node, as its argv binds them. */
export function routerExposure(r: RouterServicePlan): PortEntry[] {
  return routerRows(r.node, r.port, r.metricsPort, {
    version: r.version,
    bind: flagValue(r.argv, "--host") ?? ANY,
    metricsBind: flagValue(r.argv, "--prometheus-host") ?? ANY,
    authenticated: r.authenticated,
  });
}

function routerRows(
  node: string,
  port: number,
  metricsPort: number,
  o: { version: string; bind: string; metricsBind: string; authenticated: boolean },
): PortEntry[] {
  return [
    {
      node,
      port,
      process: `vllm-router ${o.version} (the deployment's endpoint)`,
      bind: o.bind,
      reach: "clients on the network",
      guard: o.authenticated
        ? "serving.apiKey, checked through a replica's /v1/models (every route but its metrics)"
        : "none: serving.allowUnauthenticated",
      managed: true,
      setting: "serving.router.port",
    },
    {
      node,
      port: metricsPort,
      process: "vllm-router's Prometheus metrics",
      bind: o.metricsBind,
      reach: "Prometheus on the head, over the management network",
      guard: "none (read-only metrics)",
      managed: true,
      setting: "serving.router.metricsPort",
    },
  ];
}

/** The table as text: one line per port, grouped by node. */
export function exposureTable(rows: readonly PortEntry[]): string[] {
  const head = ["node", "port", "bind", "process", "reach", "guard"];
  const cells = rows.map((r) => [r.node, String(r.port), r.bind, r.process, r.reach, r.guard]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (i < 3 ? (c[i] as string).length : 0))));
  const line = (c: readonly string[]) =>
    `${c
      .slice(0, 3)
      .map((x, i) => x.padEnd(width[i] as number))
      .join("  ")}  ${c[3]}; reach: ${c[4]}; guard: ${c[5]}`;
  return [
    `${head
      .slice(0, 3)
      .map((h, i) => h.padEnd(width[i] as number))
      .join("  ")}  process; reach; guard`,
    ...cells.map(line),
  ];
}

/** The table as Markdown (docs/exposure.md is generated with it, and checked against it). */
export function exposureMarkdown(rows: readonly PortEntry[]): string {
  const esc = (x: string) => x.replace(/\|/g, "\\|");
  return [
    "| Node | Port | Bind | Process | Who needs to reach it | Guard | Setting |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${[r.node, String(r.port), r.bind, r.process, r.reach, r.guard, r.setting ?? ""].map(esc).join(" | ")} |`,
    ),
  ].join("\n");
}
