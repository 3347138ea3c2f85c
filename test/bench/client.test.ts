import assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeEndpoint, OpenAiClient } from "../../src/bench/client";
import { closedPort, FAST, withStandin } from "./support";

const body = (maxTokens = 12) => ({
  model: "deepseek-v4",
  messages: [{ role: "user", content: "hello" }],
  max_tokens: maxTokens,
  temperature: 0.7,
});

test("endpoint forms normalize to the server base", () => {
  assert.equal(normalizeEndpoint("http://h:8000"), "http://h:8000");
  assert.equal(normalizeEndpoint("http://h:8000/"), "http://h:8000");
  assert.equal(normalizeEndpoint("http://h:8000/v1"), "http://h:8000");
  assert.equal(normalizeEndpoint("http://h:8000/v1/"), "http://h:8000");
  assert.equal(normalizeEndpoint("https://proxy/llm/v1"), "https://proxy/llm");
  assert.throws(() => normalizeEndpoint("spark:8000"), /http/);
  assert.throws(() => normalizeEndpoint("not a url"), /not a URL/);
});

test("a healthy stream: tokens from the usage chunk, TTFT before the end, one gap per extra chunk", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 5 } }, async (s) => {
    const c = new OpenAiClient({ endpoint: s.url });
    try {
      const r = await c.streamChat(body(12), FAST);
      assert.equal(r.ok, true, r.error?.message);
      assert.equal(r.completionTokens, 12);
      assert.equal(r.tokensFrom, "usage");
      assert.equal(r.deltas, 12);
      assert.equal(r.itlMs.length, 11);
      assert.ok(
        r.ttftMs !== undefined && r.ttftMs >= 4 && r.ttftMs < r.latencyMs,
        `ttft ${r.ttftMs} latency ${r.latencyMs}`,
      );
      assert.ok(r.latencyMs >= 12 * 5 - 1, `12 tokens at 5 ms cannot take ${r.latencyMs} ms`);
      assert.match(r.content, /\w+( \w+){11}/);
      assert.equal(r.finishReason, "length");
      const sent = s.chatBodies[0];
      assert.equal(sent?.stream, true);
      assert.deepEqual(sent?.stream_options, { include_usage: true });
    } finally {
      c.close();
    }
  });
});

test("usage wins over counting deltas (MTP sends several tokens per chunk); without usage, deltas are counted", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1, tokensPerChunk: 3 } }, async (s) => {
    const c = new OpenAiClient({ endpoint: s.url });
    try {
      const r = await c.streamChat(body(30), FAST);
      assert.equal(r.completionTokens, 30);
      assert.equal(r.deltas, 10);
      assert.equal(r.tokensFrom, "usage");
      s.options.behavior.usage = false;
      const r2 = await c.streamChat(body(30), FAST);
      assert.equal(r2.ok, true);
      assert.equal(r2.tokensFrom, "deltas");
      assert.equal(r2.completionTokens, 10);
    } finally {
      c.close();
    }
  });
});

test("a slow first token shows in TTFT; past the first-token timeout it is an error, reported promptly", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1, firstTokenDelayMs: 300 } }, async (s) => {
    const c = new OpenAiClient({ endpoint: s.url });
    try {
      const r = await c.streamChat(body(5), FAST);
      assert.equal(r.ok, true);
      assert.ok((r.ttftMs ?? 0) >= 295, `ttft ${r.ttftMs}`);
      const t0 = Date.now();
      const r2 = await c.streamChat(body(5), { ...FAST, firstTokenMs: 100 });
      assert.equal(r2.ok, false);
      assert.equal(r2.error?.kind, "first-token-timeout");
      assert.ok(Date.now() - t0 < 280, "the timeout must not wait for the slow token");
    } finally {
      c.close();
    }
  });
});

const faults: { name: string; behavior: Record<string, unknown>; kind: string; message: RegExp }[] = [
  {
    name: "stalled stream",
    behavior: { stallAfterTokens: 3 },
    kind: "stalled",
    message: /stalled.*after 3 token chunks/,
  },
  { name: "dropped connection", behavior: { dropAfterTokens: 4 }, kind: "dropped", message: /dropped/ },
  { name: "5xx", behavior: { status: 503 }, kind: "http-5xx", message: /HTTP 503/ },
  {
    name: "malformed JSON event",
    behavior: { malformedAfterTokens: 2 },
    kind: "malformed",
    message: /unparseable stream event after 2/,
  },
  {
    name: "stream ends without [DONE]",
    behavior: { endWithoutDone: true },
    kind: "truncated",
    message: /without \[DONE\]/,
  },
  {
    name: "error object inside the stream",
    behavior: { streamErrorAfterTokens: 2 },
    kind: "stream-error",
    message: /EngineDeadError/,
  },
];

for (const f of faults) {
  test(`fault: ${f.name} is classified as ${f.kind}`, async () => {
    await withStandin({ behavior: { tokenIntervalMs: 2, ...f.behavior } }, async (s) => {
      const c = new OpenAiClient({ endpoint: s.url });
      try {
        const t0 = Date.now();
        const r = await c.streamChat(body(10), { ...FAST, idleMs: 200 });
        assert.equal(r.ok, false);
        assert.equal(r.error?.kind, f.kind, r.error?.message);
        assert.match(r.error?.message ?? "", f.message);
        assert.ok(Date.now() - t0 < 1500, "a fault must be reported within the idle timeout, not hang");
        // The client stays usable after a fault.
        s.options.behavior = {
          ...s.options.behavior,
          stallAfterTokens: undefined,
          dropAfterTokens: undefined,
          status: undefined,
          malformedAfterTokens: undefined,
          endWithoutDone: undefined,
          streamErrorAfterTokens: undefined,
        };
        const ok = await c.streamChat(body(3), FAST);
        assert.equal(ok.ok, true, ok.error?.message);
      } finally {
        c.close();
      }
    });
  });
}

test("nothing listening: refused, quickly", async () => {
  const c = new OpenAiClient({ endpoint: `http://127.0.0.1:${await closedPort()}` });
  try {
    const r = await c.streamChat(body(3), FAST);
    assert.equal(r.error?.kind, "refused");
    const j = await c.requestJson("/health", { timeoutMs: 1000 });
    assert.equal(j.error?.kind, "refused");
  } finally {
    c.close();
  }
});

test("the API key goes in the header only; without it the 401 says what to do and never shows the key", async () => {
  await withStandin({ apiKey: "s3cret-key-value", behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const anon = new OpenAiClient({ endpoint: s.url });
    const keyed = new OpenAiClient({ endpoint: s.url, apiKey: "s3cret-key-value" });
    const wrong = new OpenAiClient({ endpoint: s.url, apiKey: "wrong" });
    try {
      const r = await anon.streamChat(body(3), FAST);
      assert.equal(r.error?.kind, "http-4xx");
      assert.match(r.error?.message ?? "", /401.*--api-key-env/);
      const w = await wrong.streamChat(body(3), FAST);
      assert.equal(w.status, 401);
      assert.ok(!(w.error?.message ?? "").includes("wrong"));
      const ok = await keyed.streamChat(body(3), FAST);
      assert.equal(ok.ok, true, ok.error?.message);
      assert.equal(s.requests.filter((q) => q.authorized && q.path === "/v1/chat/completions").length, 1);
    } finally {
      anon.close();
      keyed.close();
      wrong.close();
    }
  });
});
