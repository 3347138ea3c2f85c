import assert from "node:assert/strict";
import { test } from "node:test";
import { runGateCli } from "../../src/cli/gate";
import { answerHasCode, needleGate } from "../../src/gate/needle";
import type { GateReport } from "../../src/gate/types";
import { captureIo, FAST, withStandin } from "../bench/support";

const opts = (url: string, maxDepth: number, positions = [0.1, 0.5, 0.9]) => ({
  endpoint: url,
  model: "deepseek-v4",
  maxDepth,
  positions,
  maxModelLen: 1_000_000,
  timeouts: FAST,
  progressIntervalMs: 0,
});

interface Probe {
  position: number;
  found: boolean;
  promptTokens: number;
  expected: string;
}

test("needle: a model that reads the whole prompt gives back every needle, placed where asked", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const r = await needleGate(opts(s.url, 6000));
    assert.equal(r.status, "pass", r.problems.join("\n"));
    assert.match(r.summary, /retrieved the needle at 10%, 50%, 90% of a 6k-token prompt/);
    const probes = r.details.probes as Probe[];
    assert.deepEqual(
      probes.map((p) => p.found),
      [true, true, true],
    );
    for (const p of probes) assert.ok(Math.abs(p.promptTokens - 6000) <= 120, `${p.promptTokens} prompt tokens`);
    const asks = s.chatBodies.filter((b) => b.max_tokens === 64).map((b) => String(b.messages?.[0]?.content));
    assert.equal(asks.length, 3);
    asks.forEach((prompt, i) => {
      const words = prompt.split(/\s+/);
      const at = words.findIndex((w, k) => w === "The" && words[k + 1] === "access" && words[k + 2] === "code");
      const where = at / words.length;
      assert.ok(Math.abs(where - [0.1, 0.5, 0.9][i]!) < 0.02, `needle ${i} at ${where}`);
      assert.match(prompt, /What is the access code for vault-[0-9A-F]{4}\? Answer with the code only\.$/);
    });
    assert.equal(new Set(asks.map((p) => p.split(" ")[0])).size, 3, "each prompt starts with its own nonce");
  });
});

test("needle: a model that loses the far context fails at the depths it cannot reach, saying what it answered", async () => {
  // The stand-in only "attends" to the last 2500 of ~6000 tokens: needles at 10% and 50% are out of reach.
  await withStandin({ behavior: { tokenIntervalMs: 1 }, quality: { needleRecallTokens: 2500 } }, async (s) => {
    const r = await needleGate(opts(s.url, 6000));
    assert.equal(r.status, "fail");
    assert.deepEqual(
      (r.details.probes as Probe[]).map((p) => p.found),
      [false, false, true],
    );
    assert.equal(r.problems.length, 2);
    assert.match(
      r.problems[0] ?? "",
      /^needle at 10% of 6k tokens: not retrieved: expected [a-z]+-[a-z]+-\d{4}, the model answered "I cannot find it in the text\."/,
    );
    assert.match(r.summary, /failed: retrieved 1 of 3 needles in a 6k-token prompt/);
  });
});

test("needle: a prompt the server cannot hold is a problem, not a request", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const r = await needleGate({ ...opts(s.url, 8000), maxModelLen: 8100 });
    assert.equal(r.status, "fail");
    assert.match(r.problems[0] ?? "", /--max-depth 8000 leaves no room for the answer under max_model_len 8100/);
    assert.equal(s.stats.chatRequests, 0);
  });
  assert.ok(answerHasCode("The code is Amber-Falcon-1234.", "amber-falcon-1234"));
  assert.ok(!answerHasCode("amber-falcon-12345", "amber-falcon-1234"));
});

test("gate --suite needle scales with --max-depth; --all runs it only for long-context profiles", async () => {
  await withStandin({ maxModelLen: 262_144, behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const common = ["--endpoint", s.url, "--max-model-len", "262144", "--json", "--quiet"];
    const run = captureIo();
    assert.equal(
      await runGateCli([...common, "--suite", "needle", "--max-depth", "5k", "--needle-positions", "0.25,0.75"], run, {
        env: {},
      }),
      0,
      run.stdout,
    );
    const report = JSON.parse(run.stdout) as GateReport;
    assert.equal(report.checks[0]?.name, "needle");
    assert.match(report.checks[0]?.summary ?? "", /retrieved the needle at 25%, 75% of a 5K-token prompt/);
    const all = captureIo();
    await runGateCli(
      [...common, "--all", "--sampler", "none", "--mtp-duration", "0.2", "--soak-duration", "0.2"],
      all,
      {
        env: {},
      },
    );
    const needle = (JSON.parse(all.stdout) as GateReport).checks.find((c) => c.name === "needle");
    assert.equal(needle?.status, "skip");
    assert.match(
      needle?.summary ?? "",
      /for the 1m\/512k profiles \(max_model_len 262144 <= 262144\); --suite needle runs it anyway/,
    );
    const big = captureIo();
    assert.equal(await runGateCli([...common, "--suite", "needle", "--max-depth", "262000"], big, { env: {} }), 2);
    assert.match(big.stderr, /--max-depth 262000 does not fit max_model_len 262144 .* use at most 261120/);
  });
});
