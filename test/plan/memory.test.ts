import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config";
import { runCli } from "../../src/cli/main";
import { deepseekV4Flash } from "../../src/models/deepseek-v4-flash";
import { gb10 } from "../../src/models/gb10";
import { nodeBudget, planFromInput } from "../../src/plan";
import { calibrationReport } from "../../src/plan/memory-calibration";
import { baseConfig } from "../support/fixtures";

describe("memory model against the recipe's measured points", () => {
  for (const r of calibrationReport()) {
    it(`${r.point} (${r.use}): measured ${r.measured}, predicted ${r.predicted}, within ${r.tolerance}`, () => {
      assert.ok(Math.abs(r.error) <= r.tolerance, `error ${r.error} beyond ${r.tolerance}`);
    });
  }
  it("the failed 1M run (util 0.85, 12 seqs, capture 128, 1,048,576 tokens) is refused with a clear error", () => {
    const c = baseConfig();
    c.serving.gpuMemoryUtilization = 0.85;
    c.serving.acknowledgeHighUtilization = true;
    c.serving.profile = { base: "1m", maxModelLen: 1048576, maxNumSeqs: 12, maxCudagraphCaptureSize: 128 };
    assert.throws(
      () => planFromInput(c),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        const p = e.problems.find((x) => x.path === "serving.profile.maxModelLen");
        assert.ok(p, e.message);
        assert.match(p.message, /cannot hold one 1048576-token request \(11\.04 GiB\): vLLM would refuse to start/);
        return true;
      },
    );
  });
});

describe("budget per node", () => {
  const budgets = (mutate: (c: Record<string, any>) => void = () => {}) => {
    const c = baseConfig();
    mutate(c);
    return planFromInput(c);
  };
  it("the 1m stack at 0.80: ~1.43 M tokens, one full-context request, ~7.5 GiB free, start check passes", () => {
    const plan = budgets();
    for (const b of plan.memory.nodes) {
      assert.ok(Math.abs(b.kvPoolTokens - 1.43e6) < 1.43e4);
      assert.equal(b.maxFullContextRequests, 1);
      assert.equal(b.start.passes, true);
      assert.ok(b.headroomGiB > 7 && b.headroomGiB < 8.5);
    }
  });
  it("the 256k stack holds more full-context requests than the 1m stack, and fewer than its 24 seqs", () => {
    const b256 = budgets((c) => (c.serving.profile = "256k")).memory.nodes[0]!;
    const b1m = budgets().memory.nodes[0]!;
    assert.ok(
      b256.maxFullContextRequests > b1m.maxFullContextRequests,
      `${b256.maxFullContextRequests} vs ${b1m.maxFullContextRequests}`,
    );
    assert.ok(b256.maxFullContextRequests < 24);
  });
  it("more utilisation, more KV, less headroom", () => {
    const lo = budgets().memory.nodes[0]!;
    const hi = budgets((c) => (c.serving.gpuMemoryUtilization = 0.82)).memory.nodes[0]!;
    assert.ok(hi.kvPoolTokens > lo.kvPoolTokens);
    assert.ok(hi.headroomGiB < lo.headroomGiB);
  });
  it("notes seqs beyond full context (the profile's trade-off); warns on headroom under the alert threshold", () => {
    assert.ok(
      budgets()
        .notes.map((x) => x.path)
        .includes("serving.profile.maxNumSeqs"),
    );
    assert.ok(
      !budgets()
        .warnings.map((x) => x.path)
        .includes("serving.profile.maxNumSeqs"),
    );
    assert.ok(
      !budgets()
        .warnings.map((x) => x.path)
        .includes("hardening.umaAlertThresholdGb"),
      "the default warns",
    );
    const w = budgets((c) => (c.hardening = { umaAlertThresholdGb: 12 })).warnings.map((x) => x.path);
    assert.ok(w.includes("hardening.umaAlertThresholdGb"));
    const quiet = budgets((c) => {
      c.serving.profile = "256k";
      c.hardening = { umaAlertThresholdGb: 6 };
    }).warnings.map((x) => x.path);
    assert.ok(!quiet.includes("hardening.umaAlertThresholdGb"));
  });
  it("warns when only a little is left while serving, and when the pool is within the margin of one request", () => {
    const w = budgets((c) =>
      Object.assign(c.serving, { gpuMemoryUtilization: 0.88, acknowledgeHighUtilization: true }),
    ).warnings;
    assert.ok(
      w.some((x) => x.path === "serving.gpuMemoryUtilization" && /a load burst can OOM the host/.test(x.message)),
    );
    const m = budgets((c) => (c.serving.profile = { base: "1m", maxModelLen: 1_380_000 })).warnings;
    assert.ok(
      m.some((x) => x.path === "serving.profile.maxModelLen" && /within the estimate's margin/.test(x.message)),
      JSON.stringify(m),
    );
  });
  it("errors when vLLM's start check cannot pass, naming every node", () => {
    assert.throws(
      () => budgets((c) => Object.assign(c.serving, { gpuMemoryUtilization: 0.945, acknowledgeHighUtilization: true })),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some(
          (p) => p.path === "serving.gpuMemoryUtilization" && /^every node: vLLM's start check needs/.test(p.message),
        ),
    );
  });
  it("errors when weights and overhead leave no KV at all", () => {
    assert.throws(
      () => budgets((c) => (c.serving.gpuMemoryUtilization = 0.6)),
      (e: unknown) => e instanceof ConfigError && /no room for any KV cache/.test(e.message),
    );
  });
  it("plan shows the per-node budget table for each stack", () => {
    for (const s of ["1m", "512k", "256k"]) {
      let out = "";
      assert.equal(runCli(["plan", "--stack", s], { out: (x) => (out += x), err: () => {} }), 0);
      assert.match(out, /Memory {5}per node, GiB/);
      assert.match(out, /spark-head +121\.7 +97\.36 +69\.38/);
      assert.match(out, /spark-worker +121\.7 +97\.36 +69\.38/);
    }
  });
});

describe("other node counts, models and memory sizes", () => {
  it("TP=4 over four nodes halves the weights per rank; MLA KV stays whole per rank", () => {
    const inputs = {
      util: 0.8,
      tensorParallelSize: 4,
      pipelineParallelSize: 1,
      maxModelLen: 1e6,
      maxNumSeqs: 6,
      maxCudagraphCaptureSize: 8,
      minFreeKbytes: 3145728,
      umaAlertThresholdGb: 12,
    };
    const tp4 = nodeBudget("n", inputs, deepseekV4Flash.memory, gb10);
    const tp2 = nodeBudget("n", { ...inputs, tensorParallelSize: 2 }, deepseekV4Flash.memory, gb10);
    assert.ok(Math.abs(tp4.weightsGiB * 2 - tp2.weightsGiB) < 0.02);
    assert.equal(tp4.kvBytesPerTokenPerRank, tp2.kvBytesPerTokenPerRank);
    assert.ok(tp4.kvPoolTokens > tp2.kvPoolTokens * 2);
  });
  it("a four-node cluster plans with TP=4", () => {
    const c = baseConfig();
    for (const i of [3, 4])
      c.nodes.push({
        name: `spark-${i}`,
        role: "worker",
        ssh: { host: `192.168.1.${10 + i}` },
        dataPlane: [{ netdev: "enp1s0f1np1", hca: "rocep1s0f1", address: `10.0.0.${i}`, prefix: 29 }],
      });
    for (const n of c.nodes) n.dataPlane[0].prefix = 29;
    const plan = planFromInput(c);
    assert.equal(plan.cluster.tensorParallelSize, 4);
    assert.equal(plan.memory.nodes.length, 4);
    assert.ok(plan.memory.nodes.every((b) => b.weightsGiB < 35));
  });
  it("another model's geometry: a TP-sharded KV model", () => {
    const geo = {
      weightsTotalGb: 60,
      kvBytesPerToken: 160_000,
      kvShardedByTp: true,
      overheadGiB: { base: 5, perSeq: 0.1, perCaptureSize: 0.05 },
    };
    const b = nodeBudget(
      "n",
      {
        util: 0.8,
        tensorParallelSize: 2,
        pipelineParallelSize: 1,
        maxModelLen: 131072,
        maxNumSeqs: 8,
        maxCudagraphCaptureSize: 8,
        minFreeKbytes: 3145728,
        umaAlertThresholdGb: 12,
      },
      geo,
      gb10,
    );
    assert.equal(b.kvBytesPerTokenPerRank, 80_000);
    assert.ok(Math.abs(b.weightsGiB - 27.94) < 0.01);
  });
  it("a node with more memory (per-node override) gets a bigger pool", () => {
    const c = baseConfig();
    c.nodes[1].memory = { visibleGiB: 240 };
    const plan = planFromInput(c);
    assert.ok(plan.memory.nodes[1]!.kvPoolTokens > plan.memory.nodes[0]!.kvPoolTokens * 3);
  });
});
