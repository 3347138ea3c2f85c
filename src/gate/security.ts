/** Gate e: a request without the API key must be refused (401/403); the configured key must work. */
import { OpenAiClient } from "../bench/client";
import { type CheckResult, result } from "./types";

export interface SecurityOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly timeoutMs: number;
}

export async function securityGate(opts: SecurityOptions): Promise<CheckResult> {
  const t0 = performance.now();
  if (!opts.apiKey) {
    return result("security", t0, {
      status: "skip",
      summary: "skipped: no API key configured",
      notes: [
        "no API key was given (--api-key-env NAME or $VLLM_API_KEY), so whether the server refuses unauthenticated requests was not checked",
      ],
    });
  }
  const client = new OpenAiClient({ endpoint: opts.endpoint, apiKey: opts.apiKey });
  try {
    const problems: string[] = [];
    const details: Record<string, unknown> = {};
    const models = await client.requestJson("/v1/models", { timeoutMs: opts.timeoutMs, auth: false });
    const chat = await client.requestJson("/v1/chat/completions", {
      method: "POST",
      auth: false,
      body: { model: opts.model, messages: [{ role: "user", content: "Say OK." }], max_tokens: 1 },
      timeoutMs: opts.timeoutMs,
    });
    const withKey = await client.requestJson("/v1/models", { timeoutMs: opts.timeoutMs });
    details.withoutKey = {
      models: models.status ?? models.error?.kind ?? null,
      chat: chat.status ?? chat.error?.kind ?? null,
    };
    details.withKey = withKey.status ?? withKey.error?.kind ?? null;
    for (const [what, r] of [
      ["GET /v1/models", models],
      ["POST /v1/chat/completions", chat],
    ] as const) {
      if (r.status === 401 || r.status === 403) continue;
      if (r.status !== undefined && r.status >= 200 && r.status < 300)
        problems.push(
          `${what} without an API key answered HTTP ${r.status}: anyone who can reach the port can use the model (start vLLM with --api-key / VLLM_API_KEY)`,
        );
      else
        problems.push(
          `${what} without an API key: expected 401/403, got ${r.status !== undefined ? `HTTP ${r.status}` : (r.error?.message ?? "no answer")}`,
        );
    }
    if (!withKey.ok)
      problems.push(
        `GET /v1/models with the configured key failed: ${withKey.error?.message ?? "unknown"} (wrong key?)`,
      );
    return result("security", t0, {
      summary: problems.length
        ? "the API is not protected as configured"
        : "unauthenticated requests refused; the key is accepted",
      problems,
      details,
    });
  } finally {
    client.close();
  }
}
