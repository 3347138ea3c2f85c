/**
 * vLLM's own KV count (src/plan/vllm-kv.ts): our port against vLLM 0.33.0's planning code, and the
 * planner against the held-out public boot log.
 *
 * The port check runs scripts/vllm-kv-capacity.py in a venv holding vLLM 0.33.0 (DSV_VLLM_VENV,
 * default ${XDG_CACHE_HOME:-~/.cache}/dgx-spark-vllm/vllm-0.33.0): in CI a missing venv fails,
 * elsewhere that block is skipped with one line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { deepseekV4Flash } from "../../src/models/deepseek-v4-flash";
import { gb10 } from "../../src/models/gb10";
import { nodeBudget, type MemoryInputs } from "../../src/plan/memory";
import { FLASH_FP8_VLLM_KV, blocksPerRequest, vllmKvCount } from "../../src/plan/vllm-kv";
import { ROOT } from "../support/rendered";
import { IN_CI } from "../support/vllm-server";

const GIB = 2 ** 30;
const venv =
  process.env.DSV_VLLM_VENV ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "dgx-spark-vllm", "vllm-0.33.0");
const python = join(venv, "bin", "python");
const missing = existsSync(python) ? undefined : `no vLLM 0.33.0 venv at ${venv} (set DSV_VLLM_VENV)`;
const skip = missing && !IN_CI ? `vLLM's own KV count not compared: ${missing}` : false;

describe("our port of vLLM's KV count equals vLLM 0.33.0's own code", { skip }, () => {
  // Lengths on and off block boundaries, in-flight reservations that do and do not reach max_model_len.
  const cases = [
    { maxModelLen: 1_048_576, availableGiB: 27.93, maxNumBatchedTokens: 8192, concurrentBatches: 2 },
    { maxModelLen: 1_048_576, availableGiB: 27.93, maxNumBatchedTokens: 8192, concurrentBatches: 1 },
    { maxModelLen: 200_000, availableGiB: 27.23, maxNumBatchedTokens: 8192, concurrentBatches: 2 },
    { maxModelLen: 262_144, availableGiB: 7.16, maxNumBatchedTokens: 6144, concurrentBatches: 2 },
    { maxModelLen: 8_000, availableGiB: 3.3, maxNumBatchedTokens: 16384, concurrentBatches: 2 },
  ];
  let results: any[] | undefined;
  /** vLLM's answers for every case, from one process (importing vLLM takes seconds). */
  const theirsFor = (i: number) => {
    assert.ok(!missing, `the comparison needs vLLM 0.33.0: ${missing}`);
    if (!results) {
      const args = cases.map((c) => ({ ...c, availableBytes: Math.floor(c.availableGiB * GIB) }));
      const r = spawnSync(python, [join(ROOT, "scripts", "vllm-kv-capacity.py"), JSON.stringify(args)], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      results = r.stdout
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
      assert.equal(results.length, cases.length);
    }
    return results[i];
  };
  cases.forEach((c, i) => {
    it(`max_model_len ${c.maxModelLen}, ${c.availableGiB} GiB, ${c.concurrentBatches} x ${c.maxNumBatchedTokens} tokens in flight`, () => {
      const theirs = theirsFor(i);
      const ours = vllmKvCount(
        FLASH_FP8_VLLM_KV,
        c.availableGiB,
        c.maxModelLen,
        c.concurrentBatches * c.maxNumBatchedTokens,
      );
      assert.equal(FLASH_FP8_VLLM_KV.bytesPerBlock, theirs.bytesPerBlock);
      assert.deepEqual(
        FLASH_FP8_VLLM_KV.groups.map((g) => g.layers),
        theirs.groups.map((g: { layers: number }) => g.layers),
      );
      assert.equal(ours.numBlocks, theirs.numBlocks);
      assert.equal(
        ours.blocksPerRequest,
        theirs.groups.reduce((s: number, g: { blocksPerRequest: number }) => s + g.blocksPerRequest, 0),
      );
      assert.equal(ours.kvCacheTokens, theirs.kvCacheTokens);
      assert.ok(Math.abs(ours.maxConcurrency - theirs.maxConcurrency) < 1e-9);
    });
  });
});

/** The forum post's setup: original Flash, TP=2, utilisation 0.90, the 1m profile's other settings. */
const forum = (maxModelLen: number, over: Partial<MemoryInputs> = {}): MemoryInputs => ({
  util: 0.9,
  tensorParallelSize: 2,
  pipelineParallelSize: 1,
  maxModelLen,
  maxNumSeqs: 6,
  maxCudagraphCaptureSize: 8,
  maxNumBatchedTokens: 8192,
  minFreeKbytes: 3145728,
  umaAlertThresholdGb: 12,
  ...over,
});
const SOURCE = 'NVIDIA developer forum, "DeepSeek V4 Flash: Bringing Frontier AI to the Home" (2026-05)';

describe(`held out: ${SOURCE}`, () => {
  it('200K: "GPU KV cache size: 820,713 tokens", "Maximum concurrency ... 4.10x"; predicted within 5%', () => {
    const v = nodeBudget("n", forum(200_000), deepseekV4Flash.memory, gb10).vllm;
    assert.ok(v, "the original Flash at fp8 has vLLM's layout");
    assert.ok(Math.abs(v.printedConcurrency - 4.1) / 4.1 <= 0.05, `predicted ${v.printedConcurrency}x`);
    assert.ok(Math.abs(v.printedTokens - 820_713) / 820_713 <= 0.05, `predicted ${v.printedTokens} tokens`);
    // vLLM's tokens are requests x max_model_len, not pool bytes / bytes per token.
    assert.ok(Math.abs(v.printedTokens - v.printedConcurrency * 200_000) <= 0.005 * 200_000);
  });
  it('1M: "Available KV cache memory: 27.93 GiB" per rank; predicted within the 0.75 GiB margin', () => {
    const b = nodeBudget("n", forum(1_048_576), deepseekV4Flash.memory, gb10);
    assert.ok(Math.abs(b.kvPoolGiB - 27.93) <= 0.75, `predicted ${b.kvPoolGiB} GiB`);
  });
  it('1M: "just short of 4 concurrent requests" is vLLM\'s count with one batch in flight, not with two', () => {
    // The post does not give --max-num-batched-tokens or async scheduling. With vLLM 0.33.0's default
    // (async: two batches of 8192 in flight) the count on 27.93 GiB is ~2.8x; with one batch it is
    // just under 4. docs/memory.md says so; the planner assumes the default.
    const one = vllmKvCount(FLASH_FP8_VLLM_KV, 27.93, 1_048_576, 8192);
    const two = vllmKvCount(FLASH_FP8_VLLM_KV, 27.93, 1_048_576, 16384);
    assert.ok(one.maxConcurrency > 3.8 && one.maxConcurrency < 4.1, `${one.maxConcurrency}`);
    assert.ok(two.maxConcurrency < 3, `${two.maxConcurrency}`);
    // Either way vLLM's 1M request costs less than the recipe-era 11.04 GiB per request.
    assert.ok(one.perRequestGiB < 11.04 && two.perRequestGiB < 11.04);
  });
});

describe("vLLM's count behaves as a user would expect", () => {
  it("a longer max_model_len never raises the concurrency; admitted requests never exceed it", () => {
    let last = Number.POSITIVE_INFINITY;
    for (let L = 4096; L <= 1_048_576; L += 7919) {
      const c = vllmKvCount(FLASH_FP8_VLLM_KV, 20, L, 16384);
      assert.ok(c.maxConcurrency <= last, `at ${L}: ${c.maxConcurrency} > ${last}`);
      assert.ok(c.fullContextRequests <= c.maxConcurrency);
      last = c.maxConcurrency;
    }
  });
  it("more tokens in flight reserve more sliding-window blocks per request", () => {
    assert.ok(blocksPerRequest(FLASH_FP8_VLLM_KV, 200_000, 16384) > blocksPerRequest(FLASH_FP8_VLLM_KV, 200_000, 8192));
  });
  it("the plan prints vLLM's count beside the recipe-basis count", () => {
    const b = nodeBudget("n", forum(1_048_576), deepseekV4Flash.memory, gb10);
    assert.equal(b.maxFullContextRequests, 2);
    assert.ok(b.vllm);
    assert.match(b.vllm.basis, /vLLM 0\.33\.0 block accounting: \d+ blocks of 1002240 B/);
  });
});
