/**
 * Doctor's router checks (serving.router, docs/router.md), on the node that runs vLLM's router:
 * its systemd unit is active, the router answers /readiness with the cluster's key, the workers it
 * sees healthy (its own /workers, with the requests routed to each from its metrics: the same
 * reading as `status --router`, src/status/router.ts), and its metrics listener answers (Prometheus
 * scrapes it). Read-only: the probe only asks.
 */
import { routerWorkerLine, routerWorkers } from "../../status/router";
import type { RouterOnCluster } from "../../plan/types";
import type { NodeCtx } from "./common";

/** The router's checks, when it runs on this node. */
export function routerChecks(ctx: NodeCtx): void {
  const r = ctx.plan.router;
  if (!r || r.node !== ctx.node.name) return;
  const unit = `${r.unit}.service`;
  const state = ctx.get("router_unit");
  ctx.add({
    id: "router-unit",
    node: ctx.node.name,
    status: state === "active" ? "PASS" : "FAIL",
    title: `router unit ${unit} active`,
    evidence: state || "no answer from systemctl",
    ...(state === "active"
      ? {}
      : {
          fix: `journalctl -u ${r.unit} -n 50 on ${ctx.node.name} says why; pulumi up installs and starts it (${unit} restarts it by itself once it runs)`,
        }),
  });
  // Stopped: its routes cannot answer, and saying so four times adds nothing.
  if (state !== "active") return;
  readyCheck(ctx, r);
  workersCheck(ctx);
  metricsCheck(ctx, r.metricsPort);
}

/** /readiness with the key: 200 when the router has a healthy worker. */
function readyCheck({ node, get, add }: NodeCtx, r: RouterOnCluster): void {
  const port = r.port;
  const code = get("router_ready");
  const why: Record<string, string> = {
    "401": "refused the key: give doctor the cluster's API key (--api-key-env NAME, default $VLLM_API_KEY)",
    "503": "not ready: no healthy worker (the replicas' engines are down or still loading: doctor on each replica)",
    "000": `nothing answers on port ${port}: the unit runs, the router does not listen (yet)`,
  };
  add({
    id: "router-ready",
    node: node.name,
    status: code === "200" ? "PASS" : "FAIL",
    title: `router answers on port ${port} (/readiness with the key)`,
    evidence: code === "200" ? "HTTP 200: ready" : `HTTP ${code || "none"}${why[code] ? `: ${why[code]}` : ""}`,
    ...(code === "200"
      ? {}
      : {
          fix:
            code === "401"
              ? "run doctor with the cluster's key in the environment: VLLM_API_KEY=... dgx-spark-vllm doctor ..."
              : `journalctl -u ${r.unit} -n 50 on ${node.name}` +
                `; a router without a healthy worker waits for the replicas: pulumi up, then doctor on each replica`,
        }),
  });
}

/** The workers as the router's own health checks see them, with the requests routed to each. */
function workersCheck({ node, get, add }: NodeCtx): void {
  let body: unknown;
  try {
    body = JSON.parse(get("router_workers"));
  } catch {
    body = undefined;
  }
  const metrics = get("router_metrics");
  const workers = routerWorkers(body, metrics === "" ? undefined : metrics);
  const healthy = workers.filter((w) => w.healthy).length;
  const status = workers.length > 0 && healthy === workers.length ? "PASS" : healthy > 0 ? "WARN" : "FAIL";
  add({
    id: "router-workers",
    node: node.name,
    status,
    title: "router sees its workers (the replicas) healthy",
    evidence:
      workers.length === 0
        ? `no worker list from /workers: ${get("router_workers").slice(0, 120) || "no answer"}`
        : `${healthy} of ${workers.length} healthy; ${workers.map(routerWorkerLine).join("; ")}`,
    ...(status === "PASS"
      ? {}
      : {
          fix:
            "the router sends no requests to an unhealthy replica: run doctor on that replica's config" +
            " (its engine's /health)" +
            "; the router marks it healthy again by itself after 2 good checks",
        }),
  });
}

/** The metrics listener Prometheus scrapes answers with vllm_router_* series. */
function metricsCheck({ node, get, add }: NodeCtx, port: number): void {
  const lines = get("router_metrics");
  const ok = /^vllm_router_/m.test(lines);
  add({
    id: "router-metrics",
    node: node.name,
    status: ok ? "PASS" : "WARN",
    title: `router metrics on port ${port} (/metrics)`,
    evidence: ok
      ? `${lines.split("\n").filter((l) => l.startsWith("vllm_router_")).length} vllm_router_* samples`
      : "no vllm_router_* series",
    ...(ok
      ? {}
      : {
          fix: `the dashboards and the RouterDown alert read this port: check that nothing else holds it (sudo ss -ltnp 'sport = :${port}')`,
        }),
  });
}
