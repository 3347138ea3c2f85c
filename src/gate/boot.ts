/** Gate a: /health answers 200 and /v1/models lists the served name with the profile's max_model_len. */
import { OpenAiClient } from "../bench/client";
import { type CheckResult, result } from "./types";

export interface BootGateOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly servedName: string;
  readonly maxModelLen: number;
  /** How long to keep polling /health for 200 (cold boot takes minutes); 0: one attempt. */
  readonly timeoutMs: number;
  readonly pollIntervalMs?: number;
  /** Per HTTP request (default 10 s). */
  readonly requestTimeoutMs?: number;
  readonly onProgress?: (line: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Wait (up to `timeoutMs`) for /health to answer 200, then check /v1/models once. Never throws;
 * a component can call this after starting the head to decide whether the deployment is up.
 */
export async function bootGate(opts: BootGateOptions): Promise<CheckResult> {
  const t0 = performance.now();
  const client = new OpenAiClient({ endpoint: opts.endpoint, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  const reqTimeout = opts.requestTimeoutMs ?? 10_000;
  const poll = opts.pollIntervalMs ?? 5_000;
  const problems: string[] = [];
  const details: Record<string, unknown> = {
    expectedServedName: opts.servedName,
    expectedMaxModelLen: opts.maxModelLen,
  };
  try {
    let attempts = 0;
    let last = "";
    for (;;) {
      attempts++;
      const h = await client.requestJson("/health", { timeoutMs: reqTimeout, auth: false });
      if (h.ok && h.status === 200) {
        last = "";
        break;
      }
      last =
        h.status !== undefined
          ? `/health answered HTTP ${h.status}`
          : `/health failed: ${h.error?.message ?? "unknown"}`;
      const elapsed = performance.now() - t0;
      if (elapsed + poll > opts.timeoutMs) break;
      opts.onProgress?.(`boot: ${last}; retrying in ${Math.round(poll / 1000)} s`);
      await sleep(poll);
    }
    details.healthAttempts = attempts;
    if (last) {
      problems.push(
        opts.timeoutMs > 0 ? `${last} (still, after waiting ${Math.round(opts.timeoutMs / 1000)} s)` : last,
      );
      return result("boot", t0, { summary: "server not healthy", problems, details: { ...details, health: "fail" } });
    }
    details.health = 200;
    const m = await client.requestJson("/v1/models", { timeoutMs: reqTimeout });
    if (!m.ok) {
      problems.push(`/v1/models failed: ${m.error?.message ?? "unknown"}`);
      return result("boot", t0, { summary: "healthy, but /v1/models failed", problems, details });
    }
    const data = (m.json as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(data)) {
      problems.push("/v1/models answered without a `data` list");
      return result("boot", t0, { summary: "healthy, but /v1/models is malformed", problems, details });
    }
    const models = data.filter(
      (d): d is { id: string; max_model_len?: unknown } => !!d && typeof (d as { id?: unknown }).id === "string",
    );
    details.models = models.map((d) => ({
      id: d.id,
      maxModelLen: typeof d.max_model_len === "number" ? d.max_model_len : null,
    }));
    const ours = models.find((d) => d.id === opts.servedName);
    if (!ours) {
      problems.push(
        `/v1/models does not list '${opts.servedName}' (it lists: ${models.map((d) => d.id).join(", ") || "nothing"})`,
      );
      return result("boot", t0, { summary: "served name missing", problems, details });
    }
    const got = ours.max_model_len;
    details.maxModelLen = typeof got === "number" ? got : null;
    if (typeof got !== "number") problems.push(`'${opts.servedName}' has no numeric max_model_len in /v1/models`);
    else if (got !== opts.maxModelLen)
      problems.push(
        `max_model_len is ${got}, the profile expects ${opts.maxModelLen}: the server runs a different profile or capped the context`,
      );
    return result("boot", t0, {
      summary: problems.length ? "wrong model limits" : `healthy; ${opts.servedName} with max_model_len ${got}`,
      problems,
      details,
    });
  } finally {
    client.close();
  }
}
