import assert from "node:assert/strict";
import { test } from "node:test";
import { latinShare, qualityGate } from "../../src/gate/quality";
import { withStandin } from "../bench/support";

const run = (url: string) => qualityGate({ endpoint: url, model: "deepseek-v4", timeoutMs: 3000 });

test("latin share counts letters only", () => {
  assert.equal(latinShare("Hello, world! 123").share, 1);
  assert.equal(latinShare("模型回答").share, 0);
  const mixed = latinShare("abcd模型");
  assert.equal(mixed.letters, 6);
  assert.ok(Math.abs(mixed.share - 4 / 6) < 1e-9);
});

test("quality passes against a well-behaved model, with the request shapes the probes need", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 0 } }, async (s) => {
    const r = await run(s.url);
    assert.equal(r.status, "pass", r.problems.join("\n"));
    assert.equal((r.details.probes as unknown[]).length, 6);
    const bodies = s.chatBodies;
    assert.ok(
      bodies.every((b) => b.temperature === 0 && (b.chat_template_kwargs as { thinking?: boolean }).thinking === false),
    );
    assert.equal(bodies.filter((b) => b.response_format?.type === "json_object").length, 2);
    assert.ok(
      bodies.some(
        (b) =>
          JSON.stringify(b.tool_choice) === JSON.stringify({ type: "function", function: { name: "get_weather" } }),
      ),
    );
    assert.ok(
      bodies.some((b) => b.messages?.[0]?.role === "system"),
      "the system-prompt shape that drifts is probed",
    );
  });
});

const bad: { name: string; quality: Record<string, unknown>; probe: RegExp; detail: RegExp }[] = [
  { name: "wrong arithmetic", quality: { math: "131" }, probe: /canary-7x19/, detail: /expected 133, got "131"/ },
  { name: "broken JSON mode", quality: { brokenJson: true }, probe: /json-mode-person/, detail: /does not parse/ },
  {
    name: "Chinese answer to an English prompt",
    quality: { language: "zh" },
    probe: /language-en/,
    detail: /language drift.*0% Latin/,
  },
  {
    name: "Cyrillic answer to an English prompt",
    quality: { language: "ru" },
    probe: /language-en-system-prompt/,
    detail: /language drift/,
  },
  {
    name: "tool call answered in text",
    quality: { toolCalls: false },
    probe: /canary-forced-tool-call/,
    detail: /no tool call came back/,
  },
];
for (const b of bad) {
  test(`quality fails on ${b.name}`, async () => {
    await withStandin({ behavior: { tokenIntervalMs: 0 }, quality: b.quality }, async (s) => {
      const r = await run(s.url);
      assert.equal(r.status, "fail");
      const line = r.problems.find((p) => b.probe.test(p));
      assert.ok(line, `expected a problem for ${b.probe}: ${r.problems.join(" | ")}`);
      assert.match(line, b.detail);
    });
  });
}

test("quality reports request failures per probe instead of crashing", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 0, status: 500 } }, async (s) => {
    const r = await run(s.url);
    assert.equal(r.status, "fail");
    assert.equal(r.problems.length, 6);
    assert.ok(r.problems.every((p) => /request failed: HTTP 500/.test(p)));
  });
});
