/**
 * A stand-in OpenAI-compatible server (the subset vLLM serves: /health, /v1/models,
 * /v1/chat/completions with SSE streaming) that emits tokens at a known rate and can inject
 * faults: slow first token, stalled stream, dropped connection, 5xx, malformed events, a server
 * that dies mid-run, engine death, wrong max_model_len, answers that fail quality canaries, and
 * an API key that is (or is not) enforced. Used by the tests and by the bench self-test; also
 * handy to try `bench`/`gate` without hardware. Listens on 127.0.0.1 only.
 *
 * Test support, not part of the package. Run as a process (after a build):
 * `node dist/test/support/standin.js '{"port":8000,"tokenIntervalMs":25}'`.
 */
import { createHash } from "node:crypto";
import { VllmMetrics } from "./vllm-metrics";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** How one chat request is answered. */
export interface StandinBehavior {
  /** Gap between tokens in one stream, ms (the per-stream rate is 1000 / this). 0: as fast as possible. */
  tokenIntervalMs: number;
  /** Extra wait before the first token, ms (on top of one token interval). */
  firstTokenDelayMs: number;
  /** Tokens per streamed chunk (MTP sends several at once). */
  tokensPerChunk: number;
  /** Send the final usage chunk (`stream_options.include_usage`). */
  usage: boolean;
  /** Answer with this HTTP status and an error body instead of completing (e.g. 500, 503, 429). */
  status?: number;
  /** Stop sending after this many tokens, keeping the connection open. */
  stallAfterTokens?: number;
  /** Destroy the connection after this many tokens. */
  dropAfterTokens?: number;
  /** Send an unparseable event after this many tokens. */
  malformedAfterTokens?: number;
  /** Send `data: {"error": ...}` after this many tokens, then end the stream. */
  streamErrorAfterTokens?: number;
  /** End the response cleanly but without `data: [DONE]`. */
  endWithoutDone?: boolean;
  /** With tokenIntervalMs 0: chunks written per event-loop turn (1 = one write per chunk, as an engine step does). */
  writeBatch?: number;
  /**
   * Prefill speed, prompt tokens per second (0: instant): the first token waits for the prompt's
   * uncached tokens at this rate, so TTFT grows with context depth as on a real server.
   */
  prefillTokPerS?: number;
}

/** Answers the quality canaries get (all correct by default). */
export interface StandinQuality {
  /** Answer to "What is 7x19?" (default "133"). */
  math: string;
  /** JSON-mode answers are broken JSON. */
  brokenJson: boolean;
  /** Script of free-text answers. */
  language: "en" | "zh" | "ru";
  /** A forced tool call comes back as a tool call (false: plain text instead). */
  toolCalls: boolean;
  /**
   * Needle retrieval: a prompt asking "What is the X for Y?" is answered from a sentence
   * "The X for Y is Z." in the prompt, looking only at its last `needleRecallTokens` tokens
   * (undefined: the whole prompt), like a model whose attention fades beyond that distance.
   */
  needleRecallTokens?: number;
}

export interface StandinOptions {
  /** 0: any free port. */
  port: number;
  /** The address it listens on (as vLLM's --host). @default "127.0.0.1" */
  host: string;
  servedName: string;
  maxModelLen: number;
  /** Require `Authorization: Bearer <apiKey>` on /v1/*. */
  apiKey?: string;
  /** With apiKey set, still answer requests without it (a misconfigured server). */
  acceptWithoutKey: boolean;
  /** Status /health answers while alive (200). */
  healthStatus: number;
  /** Default behavior of chat requests. */
  behavior: StandinBehavior;
  quality: StandinQuality;
  /** Per-request overrides: `n` counts chat requests from 1. */
  fault?: (n: number, body: ChatRequestBody) => Partial<StandinBehavior> | undefined;
  /** When the n-th chat request arrives, the process "dies": listener closed, every connection destroyed. */
  dieAtRequest?: number;
  /** From the n-th chat request on, the engine is dead: /health 503, chat 500 EngineDeadError. */
  engineDeadAtRequest?: number;
  /**
   * Automatic prefix caching as vLLM does it: prompts are split into blocks of `prefixBlockTokens`
   * tokens, each identified by everything before it; a block seen before is not prefilled again
   * and is reported in usage.prompt_tokens_details.cached_tokens.
   */
  prefixCaching: boolean;
  prefixBlockTokens: number;
  /** Require the API key on /metrics too (vLLM does not; a build that protects it would). */
  metricsRequireKey?: boolean;
}

/** Tokens of chat template around the messages (the stand-in's "tokenizer" counts words). */
export const STANDIN_TEMPLATE_TOKENS = 6;

/** The stand-in's tokenizer: whitespace-separated words. */
export function standinTokens(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== "");
}

export interface ChatRequestBody {
  model?: unknown;
  messages?: { role?: unknown; content?: unknown }[];
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
  max_tokens?: unknown;
  temperature?: unknown;
  chat_template_kwargs?: Record<string, unknown>;
  response_format?: { type?: unknown };
  tools?: unknown;
  tool_choice?: unknown;
  [k: string]: unknown;
}

export interface RecordedRequest {
  readonly n: number;
  readonly path: string;
  readonly authorized: boolean;
  readonly authHeader: boolean;
  readonly body: ChatRequestBody;
}

export interface StandinStats {
  chatRequests: number;
  /** Prompt tokens received, and how many of them were prefix-cache hits. */
  promptTokens: number;
  cachedPromptTokens: number;
  tokensSent: number;
  streamsCompleted: number;
  /** performance.now() of the first chat request and of the last stream end since reset. */
  firstRequestAt?: number;
  lastStreamEndAt?: number;
}

export const DEFAULT_BEHAVIOR: StandinBehavior = {
  tokenIntervalMs: 5,
  firstTokenDelayMs: 0,
  tokensPerChunk: 1,
  usage: true,
};
const DEFAULT_QUALITY: StandinQuality = { math: "133", brokenJson: false, language: "en", toolCalls: true };

const WORDS_EN = [
  "the",
  "quick",
  "model",
  "answers",
  "with",
  "a",
  "short",
  "and",
  "clear",
  "sentence",
  "about",
  "spark",
  "memory",
  "tokens",
  "today",
];
const WORDS_RU = ["модель", "отвечает", "коротким", "и", "ясным", "предложением", "о", "памяти", "сегодня"];
const WORDS_ZH = ["模型", "用", "简短", "清晰", "的", "句子", "回答", "内存", "问题"];

function textTokens(n: number, language: StandinQuality["language"], seed: number): string[] {
  const words = language === "ru" ? WORDS_RU : language === "zh" ? WORDS_ZH : WORDS_EN;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = words[(seed + i * 7) % words.length] as string;
    out.push(language === "zh" ? w : ` ${w}`);
  }
  return out;
}

function lastUserText(body: ChatRequestBody): string {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m && m.role === "user" && typeof m.content === "string") return m.content;
  }
  return "";
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every message's text, as the prompt the model sees. */
function promptText(body: ChatRequestBody): string {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  return msgs.map((m) => (typeof m?.content === "string" ? m.content : "")).join("\n");
}

function forcedTool(body: ChatRequestBody): string | undefined {
  const tc = body.tool_choice as { type?: unknown; function?: { name?: unknown } } | undefined;
  if (tc && typeof tc === "object" && typeof tc.function?.name === "string") return tc.function.name;
  return undefined;
}

/** What the model "says" to this request: content tokens, or a tool call. */
function answerFor(
  body: ChatRequestBody,
  q: StandinQuality,
  seed: number,
): { tokens: string[]; tool?: { name: string; arguments: string }; finish: string } {
  const maxTokens = typeof body.max_tokens === "number" && body.max_tokens > 0 ? Math.floor(body.max_tokens) : 16;
  const tool = forcedTool(body);
  if (tool && q.toolCalls)
    return { tokens: [], tool: { name: tool, arguments: JSON.stringify({ city: "Paris" }) }, finish: "tool_calls" };
  const rf = body.response_format?.type;
  if (rf === "json_object" || rf === "json_schema") {
    const json = q.brokenJson ? '{"name": "Ada", "age": ' : '{"name": "Ada", "age": 36, "city": "London"}';
    return { tokens: json.match(/.{1,4}/gs) ?? [json], finish: "stop" };
  }
  const prompt = lastUserText(body);
  if (/7\s*[x×*]\s*19/.test(prompt)) return { tokens: [q.math], finish: "stop" };
  const needle = /What is the ([^?\n]{1,80}?) for ([^?\s]{1,80})\?/.exec(prompt.slice(-400));
  if (needle) {
    const words = standinTokens(prompt);
    const seen = q.needleRecallTokens === undefined ? words : words.slice(-q.needleRecallTokens);
    const text = ` ${seen.join(" ")}`;
    const m = new RegExp(
      `The ${escapeRe(needle[1] as string)} for ${escapeRe(needle[2] as string)} is ([^\\s.]+)\\.`,
    ).exec(text);
    return { tokens: m ? [` ${m[1]}`] : [" I", " cannot", " find", " it", " in", " the", " text."], finish: "stop" };
  }
  if (tool) return { tokens: textTokens(Math.min(maxTokens, 12), q.language, seed), finish: "stop" };
  return { tokens: textTokens(maxTokens, q.language, seed), finish: "length" };
}

export class StandinServer {
  readonly options: StandinOptions;
  readonly requests: RecordedRequest[] = [];
  stats: StandinStats = { chatRequests: 0, promptTokens: 0, cachedPromptTokens: 0, tokensSent: 0, streamsCompleted: 0 };
  /** Prefix-cache blocks seen (each keyed by the whole prompt up to its end). */
  private readonly blocks = new Set<string>();
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private dead = false;
  private engineDead = false;
  /** vLLM's Prometheus metrics, following the requests served (GET /metrics). */
  readonly metrics: VllmMetrics;
  private chatCount = 0;
  private portNumber = 0;

  constructor(
    opts: Partial<Omit<StandinOptions, "behavior" | "quality">> & {
      behavior?: Partial<StandinBehavior>;
      quality?: Partial<StandinQuality>;
    } = {},
  ) {
    this.options = {
      port: opts.port ?? 0,
      host: opts.host ?? "127.0.0.1",
      servedName: opts.servedName ?? "deepseek-v4",
      maxModelLen: opts.maxModelLen ?? 1_000_000,
      acceptWithoutKey: opts.acceptWithoutKey ?? false,
      healthStatus: opts.healthStatus ?? 200,
      behavior: { ...DEFAULT_BEHAVIOR, ...opts.behavior },
      quality: { ...DEFAULT_QUALITY, ...opts.quality },
      ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}),
      ...(opts.fault ? { fault: opts.fault } : {}),
      ...(opts.dieAtRequest !== undefined ? { dieAtRequest: opts.dieAtRequest } : {}),
      ...(opts.engineDeadAtRequest !== undefined ? { engineDeadAtRequest: opts.engineDeadAtRequest } : {}),
      prefixCaching: opts.prefixCaching ?? false,
      prefixBlockTokens: opts.prefixBlockTokens ?? 16,
      ...(opts.metricsRequireKey !== undefined ? { metricsRequireKey: opts.metricsRequireKey } : {}),
    };
    this.metrics = new VllmMetrics(this.options.servedName);
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on("connection", (s: Socket) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  /** Start listening on options.host (127.0.0.1 unless given). */
  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.portNumber = (this.server.address() as AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }

  get isDead(): boolean {
    return this.dead;
  }

  resetStats(): void {
    this.stats = { chatRequests: 0, promptTokens: 0, cachedPromptTokens: 0, tokensSent: 0, streamsCompleted: 0 };
  }

  /** Chat request bodies received so far. */
  get chatBodies(): ChatRequestBody[] {
    return this.requests.filter((r) => r.path === "/v1/chat/completions" && r.authorized).map((r) => r.body);
  }

  /** Simulate the process dying: refuse new connections and cut every open one. */
  die(): void {
    if (this.dead) return;
    this.dead = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }

  /** Stop (idempotent). */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    if (!this.dead) {
      this.dead = true;
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
  }

  private json(res: http.ServerResponse, status: number, obj: unknown): void {
    const text = JSON.stringify(obj);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private authorized(req: http.IncomingMessage): { ok: boolean; header: boolean } {
    const header = typeof req.headers.authorization === "string";
    if (!this.options.apiKey) return { ok: true, header };
    if (this.options.acceptWithoutKey) return { ok: true, header };
    return { ok: req.headers.authorization === `Bearer ${this.options.apiKey}`, header };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && path === "/health") {
      const status = this.engineDead ? 503 : this.options.healthStatus;
      res.writeHead(status, { "content-length": 0 });
      res.end();
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      const a = this.authorized(req);
      this.requests.push({ n: 0, path, authorized: a.ok, authHeader: a.header, body: {} });
      if (this.options.metricsRequireKey && !a.ok) return this.json(res, 401, { error: "Unauthorized" });
      const text = this.metrics.text();
      res.writeHead(200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    if (path === "/__standin/stats") return this.json(res, 200, { ...this.stats, now: performance.now() });
    if (path === "/__standin/reset") {
      this.resetStats();
      return this.json(res, 200, { ok: true });
    }
    const auth = this.authorized(req);
    if (path.startsWith("/v1/") && !auth.ok) {
      req.resume();
      this.requests.push({ n: 0, path, authorized: false, authHeader: auth.header, body: {} });
      return this.json(res, 401, { error: "Unauthorized" });
    }
    if (req.method === "GET" && path === "/v1/models") {
      this.requests.push({ n: 0, path, authorized: true, authHeader: auth.header, body: {} });
      return this.json(res, 200, {
        object: "list",
        data: [
          {
            id: this.options.servedName,
            object: "model",
            created: 1,
            owned_by: "vllm",
            root: "deepseek-ai/DeepSeek-V4-Flash",
            max_model_len: this.options.maxModelLen,
          },
        ],
      });
    }
    if (req.method === "POST" && path === "/v1/chat/completions") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body: ChatRequestBody;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequestBody;
        } catch {
          return this.json(res, 400, { error: { message: "request body is not JSON", type: "BadRequestError" } });
        }
        this.chat(req, res, body, auth.header);
      });
      return;
    }
    this.json(res, 404, { error: { message: `no route ${req.method} ${path}`, type: "NotFoundError" } });
  }

  private chat(_req: http.IncomingMessage, res: http.ServerResponse, body: ChatRequestBody, authHeader: boolean): void {
    const n = ++this.chatCount;
    this.stats.chatRequests++;
    this.stats.firstRequestAt ??= performance.now();
    this.requests.push({ n, path: "/v1/chat/completions", authorized: true, authHeader, body });
    if (this.options.dieAtRequest !== undefined && n >= this.options.dieAtRequest) {
      this.die();
      return;
    }
    if (this.options.engineDeadAtRequest !== undefined && n >= this.options.engineDeadAtRequest) this.engineDead = true;
    if (this.engineDead)
      return this.json(res, 500, {
        error: {
          message: "EngineCore encountered an issue. See stack trace for the root cause.",
          type: "EngineDeadError",
        },
      });
    if (typeof body.model === "string" && body.model !== this.options.servedName)
      return this.json(res, 404, {
        error: { message: `The model \`${body.model}\` does not exist.`, type: "NotFoundError" },
      });
    const b: StandinBehavior = { ...this.options.behavior, ...this.options.fault?.(n, body) };
    const words = standinTokens(promptText(body));
    const promptTokens = words.length + STANDIN_TEMPLATE_TOKENS;
    const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 0;
    if (promptTokens + maxTokens > this.options.maxModelLen)
      return this.json(res, 400, {
        object: "error",
        message: `This model's maximum context length is ${this.options.maxModelLen} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
        type: "BadRequestError",
        code: 400,
      });
    let cached = 0;
    if (this.options.prefixCaching) {
      const size = this.options.prefixBlockTokens;
      let hit = true;
      let key = "";
      for (let end = size; end <= words.length; end += size) {
        // A block is identified by its tokens and the key of the block before it (vLLM's chained hash).
        key = createHash("sha256")
          .update(key)
          .update(words.slice(end - size, end).join(" "))
          .digest("hex");
        if (hit && this.blocks.has(key)) cached = end;
        else hit = false;
        this.blocks.add(key);
      }
    }
    this.stats.promptTokens += promptTokens;
    this.stats.cachedPromptTokens += cached;
    const usage = { promptTokens, cached };
    const prefillMs =
      b.prefillTokPerS && b.prefillTokPerS > 0 ? ((promptTokens - cached) / b.prefillTokPerS) * 1000 : 0;
    if (b.status !== undefined && b.status !== 200)
      return this.json(res, b.status, {
        error: { message: `injected failure ${b.status}`, type: "InternalServerError" },
      });
    const answer = answerFor(body, this.options.quality, n);
    if (body.stream !== true) {
      this.metrics.start(10);
      this.later(prefillMs + b.firstTokenDelayMs + answer.tokens.length * b.tokenIntervalMs, () => {
        const count = answer.tokens.length || 1;
        for (let k = 0; k < count; k++)
          this.metrics.token(
            k === 0 ? (prefillMs + b.firstTokenDelayMs + b.tokenIntervalMs) / 1000 : b.tokenIntervalMs / 1000,
            k === 0,
          );
        this.metrics.end();
        if (res.destroyed) return;
        const content = answer.tokens.join("");
        this.stats.tokensSent += answer.tokens.length || 1;
        this.stats.streamsCompleted++;
        this.json(res, 200, {
          id: `chatcmpl-${n}`,
          object: "chat.completion",
          created: 1,
          model: this.options.servedName,
          choices: [
            {
              index: 0,
              message: answer.tool
                ? {
                    role: "assistant",
                    content: null,
                    tool_calls: [{ id: `call_${n}`, type: "function", function: answer.tool }],
                  }
                : { role: "assistant", content },
              finish_reason: answer.finish,
            },
          ],
          usage: {
            prompt_tokens: usage.promptTokens,
            completion_tokens: answer.tokens.length || 1,
            total_tokens: usage.promptTokens + (answer.tokens.length || 1),
            ...(this.options.prefixCaching ? { prompt_tokens_details: { cached_tokens: usage.cached } } : {}),
          },
        });
      });
      return;
    }
    // Like vLLM, nothing (not even the role chunk) is sent before the prompt is prefilled.
    if (prefillMs > 0) this.later(prefillMs, () => this.stream(res, body, b, answer, n, usage));
    else this.stream(res, body, b, answer, n, usage);
  }

  private stream(
    res: http.ServerResponse,
    body: ChatRequestBody,
    b: StandinBehavior,
    answer: ReturnType<typeof answerFor>,
    n: number,
    usage: { promptTokens: number; cached: number },
  ): void {
    if (res.destroyed || this.dead) return;
    const t0 = performance.now();
    const id = `chatcmpl-${n}`;
    const head = `{"id":"${id}","object":"chat.completion.chunk","created":1,"model":${JSON.stringify(this.options.servedName)},"choices":[{"index":0,"delta":`;
    const tail = `,"logprobs":null,"finish_reason":null}]}`;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(`data: ${head}{"role":"assistant","content":""}${tail}\n\n`);
    // Pieces to send: each is one chunk carrying `count` tokens.
    const pieces: { text: string; count: number }[] = [];
    if (answer.tool) {
      pieces.push({
        text: `data: ${head}{"tool_calls":[{"index":0,"id":"call_${n}","type":"function","function":{"name":${JSON.stringify(answer.tool.name)},"arguments":""}}]}${tail}\n\n`,
        count: 1,
      });
      pieces.push({
        text: `data: ${head}{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(answer.tool.arguments)}}}]}${tail}\n\n`,
        count: 1,
      });
    } else {
      const per = Math.max(1, b.tokensPerChunk);
      for (let i = 0; i < answer.tokens.length; i += per) {
        const group = answer.tokens.slice(i, i + per);
        pieces.push({
          text: `data: ${head}{"content":${JSON.stringify(group.join(""))}}${tail}\n\n`,
          count: group.length,
        });
      }
    }
    const total = pieces.reduce((s, p) => s + p.count, 0);
    const finishChunk = `data: {"id":"${id}","object":"chat.completion.chunk","created":1,"model":${JSON.stringify(this.options.servedName)},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":${JSON.stringify(answer.finish)}}]}\n\n`;
    const wantUsage = b.usage && body.stream_options?.include_usage === true;
    const details = this.options.prefixCaching ? `,"prompt_tokens_details":{"cached_tokens":${usage.cached}}` : "";
    const usageChunk = `data: {"id":"${id}","object":"chat.completion.chunk","created":1,"model":${JSON.stringify(this.options.servedName)},"choices":[],"usage":{"prompt_tokens":${usage.promptTokens},"completion_tokens":${total},"total_tokens":${usage.promptTokens + total}${details}}}\n\n`;

    let i = 0;
    let sent = 0;
    this.metrics.start(10);
    let lastAt = t0;
    res.once("close", () => this.metrics.end());
    const finishStream = () => {
      if (res.destroyed) return;
      res.write(finishChunk + (wantUsage ? usageChunk : "") + (b.endWithoutDone ? "" : "data: [DONE]\n\n"));
      res.end();
      this.stats.streamsCompleted++;
      this.stats.lastStreamEndAt = performance.now();
    };
    /** Apply the faults due after `sent` tokens; true when the stream must not continue. */
    const fault = (): boolean => {
      if (b.dropAfterTokens !== undefined && sent >= b.dropAfterTokens) {
        res.socket?.destroy();
        return true;
      }
      if (b.stallAfterTokens !== undefined && sent >= b.stallAfterTokens) return true;
      if (b.malformedAfterTokens !== undefined && sent >= b.malformedAfterTokens) {
        res.write(`data: {"id":"${id}","choices":[{"delta":{"content":"x"\n\n`);
        this.later(5, finishStream);
        return true;
      }
      if (b.streamErrorAfterTokens !== undefined && sent >= b.streamErrorAfterTokens) {
        res.write(
          `data: {"error":{"object":"error","message":"EngineDeadError: engine core died","type":"EngineDeadError","code":500}}\n\n`,
        );
        res.end();
        return true;
      }
      return false;
    };
    const sendPiece = (): void => {
      const p = pieces[i++] as { text: string; count: number };
      res.write(p.text);
      const now = performance.now();
      for (let k = 0; k < p.count; k++) this.metrics.token(k === 0 ? (now - lastAt) / 1000 : 0, sent + k === 0);
      lastAt = now;
      sent += p.count;
      this.stats.tokensSent += p.count;
    };
    if (b.tokenIntervalMs <= 0) {
      // As fast as possible, in batches, respecting backpressure.
      const pump = () => {
        if (res.destroyed || this.dead) return;
        let batch = 0;
        const per = Math.max(1, b.writeBatch ?? 64);
        while (i < pieces.length && batch < per) {
          if (fault()) return;
          sendPiece();
          batch++;
        }
        if (i >= pieces.length) {
          if (!fault()) finishStream();
          return;
        }
        if (res.writableNeedDrain) res.once("drain", pump);
        else setImmediate(pump);
      };
      this.later(b.firstTokenDelayMs, pump);
      return;
    }
    // Known rate: chunk k leaves at t0 + delay + (tokens so far incl. this chunk) * interval, scheduled on absolute times.
    const step = () => {
      if (res.destroyed || this.dead) return;
      if (fault()) return;
      if (i >= pieces.length) return finishStream();
      sendPiece();
      if (i >= pieces.length) {
        if (!fault()) finishStream();
        return;
      }
      const next = pieces[i] as { count: number };
      this.later(t0 + b.firstTokenDelayMs + (sent + next.count) * b.tokenIntervalMs - performance.now(), step);
    };
    const first = pieces[0];
    if (!first) {
      this.later(b.firstTokenDelayMs, finishStream);
      return;
    }
    this.later(b.firstTokenDelayMs + first.count * b.tokenIntervalMs, step);
  }
}

/** Start a stand-in on 127.0.0.1 (tests and self-test). */
export async function startStandin(opts: ConstructorParameters<typeof StandinServer>[0] = {}): Promise<StandinServer> {
  return new StandinServer(opts).start();
}

if (require.main === module) {
  const arg = process.argv[2];
  const opts = arg ? (JSON.parse(arg) as ConstructorParameters<typeof StandinServer>[0]) : {};
  void startStandin({ port: 8000, ...opts }).then((s) => {
    if (process.send) process.send({ port: s.port });
    else
      process.stderr.write(
        `stand-in OpenAI-compatible server on ${s.url} (served name ${s.options.servedName}, max_model_len ${s.options.maxModelLen})\n`,
      );
    const stop = () => void s.close().then(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.on("disconnect", stop);
  });
}
