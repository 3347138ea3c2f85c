/**
 * The router's state (serving.router, docs/router.md), read from vLLM's router itself over HTTP:
 * its /readiness (ready, healthy workers), /workers (each worker's health and load, as the router's
 * own health checks see it) and, when reachable, its Prometheus listener (requests each worker
 * processed). The key goes in a header (every route of the router but /metrics needs it).
 * `dgx-spark-vllm status --router URL` prints it; test/router reads it from a real router.
 */

export interface RouterWorkerStatus {
  readonly url: string;
  readonly healthy: boolean;
  readonly load?: number;
  /** Requests the router sent it since it started (vllm_router_processed_requests_total). */
  readonly processed?: number;
}

export interface RouterStatus {
  readonly url: string;
  /** Answered at all (any HTTP status). */
  readonly reachable: boolean;
  /** /readiness said ready. */
  readonly ready: boolean;
  readonly workers: readonly RouterWorkerStatus[];
  /** vllm_router_requests_total over every route, when the metrics answered. */
  readonly requests?: number;
  readonly error?: string;
}

/** The sum of a Prometheus text exposition's `name` samples (only those with `label`, when given); undefined when none. */
export function metricSum(text: string, name: string, label?: { key: string; value: string }): number | undefined {
  let n: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})?\s+([0-9.eE+-]+)$/.exec(line.trim());
    if (!m || m[1] !== name) continue;
    if (label && !(m[3] ?? "").includes(`${label.key}="${label.value}"`)) continue;
    n = (n ?? 0) + Number(m[4]);
  }
  return n;
}

/**
 * The workers of a router's /workers answer (`{ workers: [{ url, is_healthy, load }] }`), with the
 * requests routed to each when its metrics text is given. [] for anything else. Used by `status
 * --router` and by doctor's router check (which reads both on the router's node).
 */
export function routerWorkers(body: unknown, metrics?: string): RouterWorkerStatus[] {
  const list = (body as { workers?: unknown } | null)?.workers;
  if (!Array.isArray(list)) return [];
  return list
    .filter((x): x is { url: string; is_healthy: boolean; load?: unknown } => typeof x?.url === "string")
    .map((x) => {
      const processed =
        metrics === undefined
          ? undefined
          : (metricSum(metrics, "vllm_router_processed_requests_total", { key: "worker", value: x.url }) ?? 0);
      return {
        url: x.url,
        healthy: x.is_healthy === true,
        ...(typeof x.load === "number" ? { load: x.load } : {}),
        ...(processed !== undefined ? { processed } : {}),
      };
    });
}

/** One worker's line: health, URL, load and requests routed, as `status --router` and doctor print it. */
export function routerWorkerLine(w: RouterWorkerStatus): string {
  return (
    `${w.healthy ? "healthy  " : "UNHEALTHY"} ${w.url}` +
    `${w.load !== undefined && w.load >= 0 ? `  load ${w.load}` : ""}` +
    `${w.processed !== undefined ? `  ${w.processed} requests routed` : ""}`
  );
}

/** Read the router at `url` (its base, e.g. http://spark-a1:8080) and, if given, its metrics URL. */
export async function readRouterStatus(
  url: string,
  opts: { apiKey?: string; metricsUrl?: string; timeoutMs?: number } = {},
): Promise<RouterStatus> {
  const base = url.replace(/\/v1\/?$/, "").replace(/\/$/, "");
  const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  const get = (path: string) =>
    fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000) });
  let ready: Response;
  try {
    ready = await get("/readiness");
  } catch (e) {
    return { url: base, reachable: false, ready: false, workers: [], error: (e as Error).message };
  }
  if (ready.status === 401)
    return {
      url: base,
      reachable: true,
      ready: false,
      workers: [],
      error: "401: the router wants the cluster's API key (--api-key-env NAME, default $VLLM_API_KEY)",
    };
  const body = (await ready.json().catch(() => ({}))) as { status?: string };
  const w = await get("/workers").catch(() => undefined);
  const list: unknown = w?.ok ? await w.json().catch(() => undefined) : undefined;
  let metrics: string | undefined;
  if (opts.metricsUrl) {
    metrics = await fetch(opts.metricsUrl, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000) })
      .then((r) => (r.ok ? r.text() : undefined))
      .catch(() => undefined);
  }
  const requests = metrics === undefined ? undefined : metricSum(metrics, "vllm_router_requests_total");
  return {
    url: base,
    reachable: true,
    ready: ready.status === 200 && body.status === "ready",
    workers: routerWorkers(list, metrics),
    ...(requests !== undefined ? { requests } : {}),
  };
}

/** The router's lines of the status screen. */
export function renderRouterStatus(s: RouterStatus): string {
  const head = !s.reachable
    ? `router ${s.url}: not reachable (${s.error ?? "no answer"})`
    : s.error
      ? `router ${s.url}: ${s.error}`
      : `router ${s.url}: ${s.ready ? "ready" : "NOT ready"}, ${s.workers.filter((w) => w.healthy).length}` +
        ` of ${s.workers.length} workers healthy` +
        `${s.requests !== undefined ? `, ${s.requests} requests since start` : ""}`;
  const rows = s.workers.map((w) => `  ${routerWorkerLine(w)}`);
  return `${[head, ...rows].join("\n")}\n`;
}
