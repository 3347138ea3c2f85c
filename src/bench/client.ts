/**
 * Minimal OpenAI-compatible HTTP client for bench and gate: streaming chat completions over SSE
 * with per-request timing (TTFT, inter-token gaps) and every failure classified, never thrown.
 * Uses node:http(s) directly with a keep-alive agent: cheap per token, and full control of
 * connection-level failures (refused, dropped, stalled). The API key only ever goes in the
 * Authorization header; it is never part of a message, a report or a URL.
 */
import * as http from "node:http";
import * as https from "node:https";
import { performance } from "node:perf_hooks";
import { SseParser } from "./sse";

/** How a request failed, as a user would describe it. */
export type ErrorKind =
  | "refused" // nothing listens (connection refused): server down or dead
  | "network" // other connection-level failure before a response (DNS, reset on connect, TLS)
  | "http-4xx" // the server answered 4xx (401/403: missing or wrong API key)
  | "http-5xx" // the server answered 5xx
  | "first-token-timeout" // no first token within the first-token timeout
  | "stalled" // a stream started, then nothing arrived for the idle timeout
  | "timeout" // the whole request took longer than the request timeout
  | "dropped" // the connection closed in the middle of the response
  | "truncated" // the response ended cleanly but without `data: [DONE]`
  | "malformed" // an event or body that is not the JSON it should be
  | "stream-error"; // the server sent an error object inside the stream

export const ERROR_KINDS: readonly ErrorKind[] = [
  "refused",
  "network",
  "http-4xx",
  "http-5xx",
  "first-token-timeout",
  "stalled",
  "timeout",
  "dropped",
  "truncated",
  "malformed",
  "stream-error",
];

export interface RequestError {
  readonly kind: ErrorKind;
  readonly message: string;
}

export interface Timeouts {
  /** From sending the request to the first token. Cold JIT can add ~70 s: keep it generous. */
  readonly firstTokenMs: number;
  /** Longest silence between two chunks once a stream has started. */
  readonly idleMs: number;
  /** Whole request. */
  readonly totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { firstTokenMs: 180_000, idleMs: 60_000, totalMs: 600_000 };

export interface ToolCall {
  readonly name: string;
  readonly arguments: string;
}

export interface StreamResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: RequestError;
  /** performance.now() when the request was sent. */
  readonly startedAt: number;
  /** Until `data: [DONE]` (or the failure). */
  readonly latencyMs: number;
  /** Until the first chunk carrying content, reasoning or a tool call. */
  readonly ttftMs?: number;
  /** Until the first stream event of any kind (llama-benchy's "time to first response"). */
  readonly ttfrMs?: number;
  /** `usage.prompt_tokens` from the final usage chunk, when the server sent one. */
  readonly promptTokens?: number;
  /** `usage.prompt_tokens_details.cached_tokens` (prefix-cache hits), when the server reports it. */
  readonly cachedPromptTokens?: number;
  /** Gaps between consecutive token-carrying chunks. */
  readonly itlMs: readonly number[];
  /** From the final usage chunk when the server sent one, else the number of token-carrying chunks. */
  readonly completionTokens: number;
  readonly tokensFrom: "usage" | "deltas";
  /** Token-carrying chunks received. */
  readonly deltas: number;
  readonly content: string;
  readonly reasoning: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason?: string;
}

export interface JsonResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly json?: unknown;
  readonly text: string;
  readonly error?: RequestError;
  readonly latencyMs: number;
}

/** `http://h:8000`, `http://h:8000/`, `http://h:8000/v1` -> base `http://h:8000` (a proxy prefix is kept). */
export function normalizeEndpoint(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new Error(`--endpoint '${endpoint}' is not a URL (example: http://spark-head.local:8000)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new Error(`--endpoint must be http:// or https://, not ${u.protocol}`);
  if (u.search || u.hash) throw new Error("--endpoint must not carry a query or fragment");
  let path = u.pathname.replace(/\/+$/, "");
  if (path.endsWith("/v1")) path = path.slice(0, -3);
  return `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ""}@` : ""}${u.host}${path}`;
}

/** The endpoint as it may be printed: without any user:password part. */
export function displayEndpoint(base: string): string {
  try {
    const u = new URL(base);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(invalid endpoint)";
  }
}

function classifyNetworkError(e: NodeJS.ErrnoException, gotResponse: boolean): RequestError {
  const code = e.code ?? "";
  if (code === "ECONNREFUSED")
    return { kind: "refused", message: `connection refused (${code}): is the server running?` };
  if (gotResponse) return { kind: "dropped", message: `connection dropped mid-response (${code || e.message})` };
  if (code === "ECONNRESET" || code === "EPIPE" || e.message === "socket hang up")
    return { kind: "dropped", message: `connection closed before a response (${code || e.message})` };
  return { kind: "network", message: `${code ? `${code}: ` : ""}${e.message}` };
}

function httpError(status: number, body: string): RequestError {
  const snippet = body.replace(/\s+/g, " ").trim().slice(0, 200);
  const hint = status === 401 || status === 403 ? " (the server wants an API key: pass --api-key-env NAME)" : "";
  return {
    kind: status >= 500 ? "http-5xx" : "http-4xx",
    message: `HTTP ${status}${snippet ? `: ${snippet}` : ""}${hint}`,
  };
}

interface MutableStream {
  ok: boolean;
  status?: number;
  error?: RequestError;
  startedAt: number;
  latencyMs: number;
  ttftMs?: number;
  ttfrMs?: number;
  promptTokens?: number;
  cachedPromptTokens?: number;
  itlMs: number[];
  completionTokens: number;
  tokensFrom: "usage" | "deltas";
  deltas: number;
  content: string;
  reasoning: string;
  toolCalls: { name: string; arguments: string }[];
  finishReason?: string;
}

export interface ClientOptions {
  /** Server base (see normalizeEndpoint). */
  readonly endpoint: string;
  /** Sent as `Authorization: Bearer ...` when set. */
  readonly apiKey?: string;
}

/** One client per run: holds the keep-alive agent. Call close() when done. */
export class OpenAiClient {
  readonly base: string;
  private readonly apiKey: string | undefined;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly chatUrl: URL;

  constructor(opts: ClientOptions) {
    this.base = normalizeEndpoint(opts.endpoint);
    this.apiKey = opts.apiKey && opts.apiKey.length > 0 ? opts.apiKey : undefined;
    const https_ = this.base.startsWith("https:");
    this.mod = https_ ? https : http;
    this.agent = https_
      ? new https.Agent({ keepAlive: true, maxSockets: Infinity })
      : new http.Agent({ keepAlive: true, maxSockets: Infinity });
    this.chatUrl = new URL(`${this.base}/v1/chat/completions`);
  }

  get hasApiKey(): boolean {
    return this.apiKey !== undefined;
  }

  close(): void {
    this.agent.destroy();
  }

  private headers(withAuth: boolean, json: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: json ? "application/json" : "text/event-stream" };
    if (withAuth && this.apiKey) h.authorization = `Bearer ${this.apiKey}`;
    return h;
  }

  /**
   * GET or POST JSON (non-streaming). `path` is relative to the base, e.g. `/health`, `/v1/models`.
   * Never throws; `auth: false` leaves the API key out (for the security gate).
   */
  requestJson(
    path: string,
    opts: { method?: "GET" | "POST"; body?: unknown; timeoutMs: number; auth?: boolean },
  ): Promise<JsonResult> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      let gotResponse = false;
      const done = (r: Omit<JsonResult, "latencyMs">) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...r, latencyMs: performance.now() - t0 });
      };
      const headers = this.headers(opts.auth !== false, true);
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      if (payload !== undefined) headers["content-type"] = "application/json";
      let req: http.ClientRequest;
      try {
        req = this.mod.request(new URL(`${this.base}${path}`), {
          method: opts.method ?? (payload ? "POST" : "GET"),
          headers,
          agent: this.agent,
        });
      } catch (e) {
        done({ ok: false, text: "", error: { kind: "network", message: (e as Error).message } });
        return;
      }
      const timer = setTimeout(() => {
        done({
          ok: false,
          text: "",
          error: { kind: "timeout", message: `no complete answer within ${Math.round(opts.timeoutMs)} ms` },
        });
        req.destroy();
      }, opts.timeoutMs);
      req.on("error", (e: NodeJS.ErrnoException) =>
        done({ ok: false, text: "", error: classifyNetworkError(e, gotResponse) }),
      );
      req.on("response", (res) => {
        gotResponse = true;
        const status = res.statusCode ?? 0;
        res.setEncoding("utf8");
        let text = "";
        res.on("data", (c: string) => {
          if (text.length < 4_000_000) text += c;
        });
        res.on("error", (e: NodeJS.ErrnoException) =>
          done({ ok: false, status, text, error: classifyNetworkError(e, true) }),
        );
        res.on("close", () => {
          if (!res.complete)
            done({ ok: false, status, text, error: { kind: "dropped", message: "connection dropped mid-response" } });
        });
        res.on("end", () => {
          if (status < 200 || status >= 300) return done({ ok: false, status, text, error: httpError(status, text) });
          if (text.trim() === "") return done({ ok: true, status, text });
          try {
            done({ ok: true, status, text, json: JSON.parse(text) as unknown });
          } catch {
            done({
              ok: false,
              status,
              text,
              error: { kind: "malformed", message: `HTTP ${status} but the body is not JSON: ${text.slice(0, 80)}` },
            });
          }
        });
      });
      req.end(payload);
    });
  }

  /**
   * POST /v1/chat/completions with `stream: true` and `stream_options.include_usage`. `body` is
   * the request without those two fields. Never throws: failures come back classified.
   */
  streamChat(
    body: Record<string, unknown>,
    timeouts: Timeouts,
    opts: {
      keepText?: boolean;
      /** Called for every token-carrying chunk with the chunks so far (progress while in flight). */
      onDelta?: () => void;
    } = {},
  ): Promise<StreamResult> {
    const payload = JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } });
    return new Promise<StreamResult>((resolve) => {
      const stream = new ChatStream(timeouts, opts, resolve);
      const headers = this.headers(true, false);
      headers["content-type"] = "application/json";
      let req: http.ClientRequest;
      try {
        req = this.mod.request(this.chatUrl, { method: "POST", headers, agent: this.agent });
      } catch (e) {
        stream.finish({ kind: "network", message: (e as Error).message });
        return;
      }
      stream.req = req;
      let gotResponse = false;
      req.on("error", (e: NodeJS.ErrnoException) => stream.finish(classifyNetworkError(e, gotResponse)));
      req.on("response", (res) => {
        gotResponse = true;
        readStream(res, stream);
      });
      req.end(payload);
      stream.check();
    });
  }
}

/** A response to a streamed chat request: an HTTP error's body, or the SSE stream's events into `stream`. */
function readStream(res: http.IncomingMessage, stream: ChatStream): void {
  const status = res.statusCode ?? 0;
  stream.r.status = status;
  res.setEncoding("utf8");
  if (status !== 200) {
    let text = "";
    res.on("data", (c: string) => {
      if (text.length < 4096) text += c;
    });
    res.on("end", () => stream.finish(httpError(status, text)));
    res.on("error", () => stream.finish(httpError(status, text)));
    res.on("close", () => stream.finish(httpError(status, text)));
    return;
  }
  const parser = new SseParser((data) => stream.onEvent(data));
  res.on("data", (c: string) => {
    stream.touch();
    parser.push(c);
  });
  res.on("end", () => {
    parser.end();
    stream.finish({
      kind: "truncated",
      message: `stream ended without [DONE] after ${stream.r.deltas} token chunks${stream.r.finishReason ? ` (finish_reason ${stream.r.finishReason})` : ""}`,
    });
  });
  res.on("error", (e: NodeJS.ErrnoException) => stream.finish(classifyNetworkError(e, true)));
  res.on("close", () => {
    if (!res.complete)
      stream.finish({
        kind: "dropped",
        message: `connection dropped mid-stream after ${stream.r.deltas} token chunks`,
      });
  });
}

/** A token-carrying (or usage-only) chunk of the stream, as read from one event. */
interface StreamChunk {
  readonly kind: "chunk";
  readonly usage: {
    readonly completionTokens?: number;
    readonly promptTokens?: number;
    readonly cachedTokens?: number;
  };
  readonly finishReason?: string;
  readonly content: string;
  readonly reasoning: string;
  readonly tools?: readonly { index?: number; function?: { name?: unknown; arguments?: unknown } }[];
}

/** What one SSE `data:` line says: the end, an error (malformed or sent by the server), or a chunk. */
type StreamEvent = { readonly kind: "done" } | { readonly kind: "error"; readonly error: RequestError } | StreamChunk;

/** Parse one event's data; `deltas` (token chunks so far) only words the errors. Pure. */
export function parseStreamEvent(data: string, deltas: number): StreamEvent {
  if (data === "[DONE]") return { kind: "done" };
  let obj: unknown;
  try {
    obj = JSON.parse(data);
  } catch {
    return {
      kind: "error",
      error: {
        kind: "malformed",
        message: `unparseable stream event after ${deltas} token chunks: ${data.slice(0, 80)}`,
      },
    };
  }
  if (!obj || typeof obj !== "object")
    return {
      kind: "error",
      error: { kind: "malformed", message: `stream event is not an object: ${data.slice(0, 80)}` },
    };
  const o = obj as {
    error?: unknown;
    choices?: unknown;
    usage?: {
      completion_tokens?: unknown;
      prompt_tokens?: unknown;
      prompt_tokens_details?: { cached_tokens?: unknown } | null;
    } | null;
  };
  if (o.error !== undefined && o.error !== null) {
    const e = o.error as { message?: unknown; type?: unknown };
    const msg =
      typeof e === "object"
        ? `${typeof e.type === "string" ? `${e.type}: ` : ""}${typeof e.message === "string" ? e.message : JSON.stringify(e)}`
        : String(e);
    return { kind: "error", error: { kind: "stream-error", message: `error inside the stream: ${msg.slice(0, 300)}` } };
  }
  const cached = o.usage?.prompt_tokens_details?.cached_tokens;
  const usage = {
    ...(o.usage && typeof o.usage.completion_tokens === "number"
      ? { completionTokens: o.usage.completion_tokens }
      : {}),
    ...(o.usage && typeof o.usage.prompt_tokens === "number" ? { promptTokens: o.usage.prompt_tokens } : {}),
    ...(typeof cached === "number" ? { cachedTokens: cached } : {}),
  };
  const c = Array.isArray(o.choices)
    ? (o.choices[0] as { delta?: Record<string, unknown>; finish_reason?: unknown } | undefined)
    : undefined;
  const finishReason = typeof c?.finish_reason === "string" ? c.finish_reason : undefined;
  const d = c?.delta;
  const reasoningRaw = d?.reasoning_content ?? d?.reasoning;
  const tools = Array.isArray(d?.tool_calls)
    ? (d.tool_calls as { index?: number; function?: { name?: unknown; arguments?: unknown } }[])
    : undefined;
  return {
    kind: "chunk",
    usage,
    ...(finishReason !== undefined ? { finishReason } : {}),
    content: typeof d?.content === "string" ? d.content : "",
    reasoning: typeof reasoningRaw === "string" ? reasoningRaw : "",
    ...(tools ? { tools } : {}),
  };
}

/**
 * One streamed request's state: what it has read, its timing, and its deadlines (no first token
 * within firstTokenMs, nothing for idleMs once tokens flow, longer than totalMs). `finish` ends it
 * once, with or without an error, and resolves the request's promise.
 */
class ChatStream {
  readonly r: MutableStream;
  req?: http.ClientRequest;
  private readonly t0 = performance.now();
  private usageTokens: number | undefined;
  private lastActivity = this.t0;
  private lastToken = 0;
  private firstToken = false;
  private settled = false;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly keepText: boolean;

  constructor(
    private readonly timeouts: Timeouts,
    private readonly opts: { keepText?: boolean; onDelta?: () => void },
    private readonly resolve: (r: StreamResult) => void,
  ) {
    this.keepText = opts.keepText !== false;
    this.r = {
      ok: false,
      startedAt: this.t0,
      latencyMs: 0,
      itlMs: [],
      completionTokens: 0,
      tokensFrom: "deltas",
      deltas: 0,
      content: "",
      reasoning: "",
      toolCalls: [],
    };
  }

  /** Bytes arrived: the idle deadline starts again. */
  touch(): void {
    this.lastActivity = performance.now();
  }

  finish(err?: RequestError): void {
    if (this.settled) return;
    this.settled = true;
    if (this.watchdog) clearTimeout(this.watchdog);
    const r = this.r;
    r.latencyMs = performance.now() - this.t0;
    if (this.usageTokens !== undefined) {
      r.completionTokens = this.usageTokens;
      r.tokensFrom = "usage";
    } else {
      r.completionTokens = r.deltas;
    }
    if (err) {
      r.ok = false;
      r.error = err;
      this.req?.destroy();
    } else {
      r.ok = true;
    }
    this.resolve(r);
  }

  /** Ends the request at a passed deadline, else arms a timer for the next one. */
  check(): void {
    if (this.settled) return;
    const missed = this.missedDeadline();
    if (missed) {
      this.finish(missed);
      return;
    }
    const { t0, timeouts } = this;
    const next = Math.min(
      t0 + timeouts.totalMs,
      this.firstToken ? this.lastActivity + timeouts.idleMs : t0 + timeouts.firstTokenMs,
    );
    this.watchdog = setTimeout(() => this.check(), Math.max(1, next - performance.now()));
  }

  /** The deadline that has passed, if any: total, then first token (before it), then idle (after it). */
  private missedDeadline(): RequestError | undefined {
    const { t0, timeouts } = this;
    const now = performance.now();
    if (now - t0 >= timeouts.totalMs)
      return { kind: "timeout", message: `request took longer than ${Math.round(timeouts.totalMs)} ms` };
    if (!this.firstToken) {
      if (now - t0 >= timeouts.firstTokenMs)
        return {
          kind: "first-token-timeout",
          message: `no first token within ${Math.round(timeouts.firstTokenMs)} ms`,
        };
    } else if (now - this.lastActivity >= timeouts.idleMs) {
      return {
        kind: "stalled",
        message: `stream stalled: nothing for ${Math.round(timeouts.idleMs)} ms after ${this.r.deltas} token chunks`,
      };
    }
    return undefined;
  }

  /** One SSE event's data. */
  onEvent(data: string): void {
    if (this.settled) return;
    const r = this.r;
    r.ttfrMs ??= performance.now() - this.t0;
    const ev = parseStreamEvent(data, r.deltas);
    if (ev.kind !== "chunk") {
      this.finish(ev.kind === "error" ? ev.error : undefined);
      return;
    }
    if (ev.usage.completionTokens !== undefined) this.usageTokens = ev.usage.completionTokens;
    if (ev.usage.promptTokens !== undefined) r.promptTokens = ev.usage.promptTokens;
    if (ev.usage.cachedTokens !== undefined) r.cachedPromptTokens = ev.usage.cachedTokens;
    if (ev.finishReason !== undefined) r.finishReason = ev.finishReason;
    if (ev.content === "" && ev.reasoning === "" && !ev.tools?.length) return;
    this.onTokens(ev);
  }

  /** A chunk that carries content, reasoning or a tool call: timing, counts, text. */
  private onTokens(ev: StreamChunk): void {
    const r = this.r;
    const now = performance.now();
    if (!this.firstToken) {
      this.firstToken = true;
      r.ttftMs = now - this.t0;
      // From now on the idle deadline applies, which may come before the first-token one.
      if (this.watchdog) clearTimeout(this.watchdog);
      this.check();
    } else {
      r.itlMs.push(now - this.lastToken);
    }
    this.lastToken = now;
    r.deltas++;
    this.opts.onDelta?.();
    if (this.keepText) {
      r.content += ev.content;
      r.reasoning += ev.reasoning;
    }
    for (const t of ev.tools ?? []) {
      const i = typeof t.index === "number" ? t.index : r.toolCalls.length;
      const slot = (r.toolCalls[i] ??= { name: "", arguments: "" });
      if (typeof t.function?.name === "string") slot.name += t.function.name;
      if (typeof t.function?.arguments === "string") slot.arguments += t.function.arguments;
    }
  }
}
