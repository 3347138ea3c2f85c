/**
 * UMA memory planner: will it fit, how much KV, how many full-context requests at once.
 *
 * The model (all GiB, per node; sources: RECIPE.md "Unified memory", "Model", "Beyond the recipe"):
 *   budget    = util x visible                        vLLM's own allocation limit
 *   weights   = weightsTotalGb x 1e9 / 2^30 / (TP x PP)
 *   overhead  = base + perSeq x max-num-seqs + perCaptureSize x max-cudagraph-capture-size
 *   kvPool    = budget - weights - overhead           -> tokens = kvPool / kvBytesPerTokenPerRank
 *   headroom  = visible - budget - outsideBudget      free memory while serving
 *   start     = vLLM refuses to start unless free >= util x visible; free before start is
 *               visible - startBaseline - min_free_kbytes reserve
 * The overhead terms are fitted to three measured GB10 points (1M @ 0.80 -> 1.43 M tokens; 512K @
 * 0.80 -> 1.18 M tokens; 1M @ 0.85 with 12 seqs and capture 128 -> 10.33 GiB KV, init failed) and
 * checked against two others (0.85 leaves ~1 GB free; an earlier higher-util 1M run had ~2.0 M
 * tokens). outsideBudget is the mean of the two measured free-memory points. It is an estimate:
 * docs/memory.md and the tests show every prediction beside its measurement.
 */
import type { ClusterConfig } from "../config/schema";
import type { ConfigProblem } from "../config/errors";
import type { NodeMemorySpec } from "../models/gb10";
import type { ModelMemoryGeometry } from "../models/deepseek-v4-flash";
import { concurrentBatches, vllmKvCount } from "./vllm-kv";

const GIB = 2 ** 30;

/** How far the estimate may be off, from the calibration (docs/memory.md). */
export const MEMORY_ESTIMATE_MARGIN_GIB = 0.75;

export interface MemoryInputs {
  readonly util: number;
  readonly tensorParallelSize: number;
  readonly pipelineParallelSize: number;
  readonly maxModelLen: number;
  readonly maxNumSeqs: number;
  readonly maxCudagraphCaptureSize: number;
  /** --max-num-batched-tokens; vLLM reserves sliding-window blocks for the tokens in flight. */
  readonly maxNumBatchedTokens?: number;
  readonly minFreeKbytes: number;
  readonly umaAlertThresholdGb: number;
}

export interface NodeMemoryBudget {
  readonly node: string;
  readonly visibleGiB: number;
  readonly budgetGiB: number;
  readonly weightsGiB: number;
  readonly overheadGiB: number;
  readonly kvPoolGiB: number;
  readonly kvPoolTokens: number;
  readonly kvBytesPerTokenPerRank: number;
  /** KV one max_model_len request needs on this rank. */
  readonly fullRequestGiB: number;
  /** floor(pool tokens / max_model_len): full-length requests at kvBytesPerTokenPerRank. */
  readonly maxFullContextRequests: number;
  /**
   * vLLM's own count for this pool (src/plan/vllm-kv.ts, docs/memory.md "vLLM's count"), when the
   * model's KV layout in vLLM is known for the dtype: what it logs at boot and the max_model_len
   * requests its scheduler admits at once. Absent: not derived (e.g. PP > 1 or another dtype).
   */
  readonly vllm?: VllmCountSummary;
  /** Predicted free memory while serving. */
  readonly headroomGiB: number;
  readonly start: { readonly needsGiB: number; readonly freeBeforeStartGiB: number; readonly passes: boolean };
}

export interface VllmCountSummary {
  readonly version: string;
  /** "GPU KV cache size: N tokens". */
  readonly printedTokens: number;
  /** "Maximum concurrency for L tokens per request: X.XXx" (as printed, 2 decimals). */
  readonly printedConcurrency: number;
  /** Requests of max_model_len tokens admitted at once (the worst case: all at full length). */
  readonly fullContextRequests: number;
  /** One max_model_len request's share of the pool, GiB. */
  readonly perRequestGiB: number;
  readonly basis: string;
}

export interface MemoryPlan {
  readonly model: string;
  readonly nodes: readonly NodeMemoryBudget[];
  readonly marginGiB: number;
  /** Warnings (shown in plan and as Pulumi warnings during preview). */
  readonly warnings: readonly ConfigProblem[];
  /** Reasons it cannot work; planCluster turns these into a ConfigError. */
  readonly errors: readonly ConfigProblem[];
  /** Facts worth knowing that are no risk (e.g. the profile's own concurrency trade-off); not warnings. */
  readonly notes: readonly ConfigProblem[];
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** One node's budget. Pure arithmetic. */
export function nodeBudget(
  node: string,
  m: MemoryInputs,
  geo: ModelMemoryGeometry,
  hw: NodeMemorySpec,
): NodeMemoryBudget {
  const ranks = m.tensorParallelSize * m.pipelineParallelSize;
  const budget = m.util * hw.visibleGiB;
  const weights = (geo.weightsTotalGb * 1e9) / GIB / ranks;
  const overhead =
    geo.overheadGiB.base +
    geo.overheadGiB.perSeq * m.maxNumSeqs +
    geo.overheadGiB.perCaptureSize * m.maxCudagraphCaptureSize;
  const kvPerToken = geo.kvBytesPerToken / m.pipelineParallelSize / (geo.kvShardedByTp ? m.tensorParallelSize : 1);
  const kvPool = budget - weights - overhead;
  const tokens = Math.max(0, Math.floor((kvPool * GIB) / kvPerToken));
  const reserveGiB = (m.minFreeKbytes * 1024) / GIB;
  const layout = geo.vllmKv;
  let vllm: VllmCountSummary | undefined;
  if (layout && m.pipelineParallelSize === 1 && m.maxNumBatchedTokens !== undefined) {
    const inFlight = concurrentBatches(m.pipelineParallelSize) * m.maxNumBatchedTokens;
    const c = vllmKvCount(layout, Math.max(0, kvPool), m.maxModelLen, inFlight);
    vllm = {
      version: layout.vllmVersion,
      printedTokens: c.kvCacheTokens,
      printedConcurrency: round(c.maxConcurrency),
      fullContextRequests: c.fullContextRequests,
      perRequestGiB: round(c.perRequestGiB),
      basis:
        `vLLM ${layout.vllmVersion} block accounting: ${c.numBlocks} blocks of ${layout.bytesPerBlock} B` +
        `; one ${m.maxModelLen}-token request takes ${c.blocksPerRequest}` +
        ` (${inFlight} tokens in flight reserved in the sliding-window groups)`,
    };
  }
  const freeBeforeStart = hw.visibleGiB - hw.startBaselineGiB - reserveGiB;
  return {
    node,
    visibleGiB: hw.visibleGiB,
    budgetGiB: round(budget),
    weightsGiB: round(weights),
    overheadGiB: round(overhead),
    kvPoolGiB: round(kvPool),
    kvPoolTokens: tokens,
    kvBytesPerTokenPerRank: Math.round(kvPerToken),
    fullRequestGiB: round((m.maxModelLen * kvPerToken) / GIB),
    maxFullContextRequests: Math.floor(tokens / m.maxModelLen),
    ...(vllm ? { vllm } : {}),
    headroomGiB: round(hw.visibleGiB - budget - hw.outsideBudgetGiB),
    start: { needsGiB: round(budget), freeBeforeStartGiB: round(freeBeforeStart), passes: freeBeforeStart >= budget },
  };
}

/** The budget of every node, with the warnings and errors a user must see before deploying. */
export function planMemory(
  config: ClusterConfig,
  profile: { maxModelLen: number; maxNumSeqs: number; maxCudagraphCaptureSize: number; maxNumBatchedTokens?: number },
  geo: ModelMemoryGeometry,
  hwFor: (nodeIndex: number) => NodeMemorySpec,
  modelId: string,
  tensorParallelSize: number,
): MemoryPlan {
  const h = config.hardening;
  const inputs: MemoryInputs = {
    util: config.serving.gpuMemoryUtilization,
    tensorParallelSize,
    pipelineParallelSize: config.serving.pipelineParallelSize,
    maxModelLen: profile.maxModelLen,
    maxNumSeqs: profile.maxNumSeqs,
    maxCudagraphCaptureSize: profile.maxCudagraphCaptureSize,
    ...(profile.maxNumBatchedTokens !== undefined ? { maxNumBatchedTokens: profile.maxNumBatchedTokens } : {}),
    minFreeKbytes: h.minFreeKbytes,
    umaAlertThresholdGb: h.umaAlertThresholdGb,
  };
  const nodes = config.nodes.map((n, i) => nodeBudget(n.name, inputs, geo, hwFor(i)));
  // Findings per node; identical findings on several nodes are reported once, naming them all.
  const found = new Map<string, Finding>();
  const add: AddFinding = (error, node, path, message) => {
    const key = `${error}|${path}|${message}`;
    const f = found.get(key);
    if (f) f.nodes.push(node);
    else found.set(key, { error, path, message, nodes: [node] });
  };
  for (const b of nodes) budgetFindings(b, inputs, add);
  const warnings: ConfigProblem[] = [];
  const errors: ConfigProblem[] = [];
  const notes: ConfigProblem[] = [];
  for (const f of found.values()) {
    const who = f.nodes.length === nodes.length && nodes.length > 1 ? "every node" : `node ${f.nodes.join(", ")}`;
    (f.error === "note" ? notes : f.error ? errors : warnings).push({ path: f.path, message: `${who}: ${f.message}` });
  }
  return { model: modelId, nodes, marginGiB: MEMORY_ESTIMATE_MARGIN_GIB, warnings, errors, notes };
}

/** true: an error; false: a warning; "note": a note. */
type FindingKind = boolean | "note";
interface Finding {
  error: FindingKind;
  path: string;
  message: string;
  nodes: string[];
}
type AddFinding = (error: FindingKind, node: string, path: string, message: string) => void;

/** One node's budget judged: the start check, the KV pool against one full request, the headroom. */
function budgetFindings(b: NodeMemoryBudget, inputs: MemoryInputs, add: AddFinding): void {
  const M = MEMORY_ESTIMATE_MARGIN_GIB;
  // GiB, as the node's monitor and doctor compare it with MemAvailable (and as `free -g` prints it).
  const thresholdGiB = inputs.umaAlertThresholdGb;
  const n = b.node;
  if (!b.start.passes) {
    add(
      true,
      n,
      "serving.gpuMemoryUtilization",
      `vLLM's start check needs ${b.start.needsGiB} GiB free (util x ${b.visibleGiB} GiB)` +
        ` but only ~${b.start.freeBeforeStartGiB} GiB is free before start` +
        ` (after the OS and the ${round((inputs.minFreeKbytes * 1024) / GIB)} GiB min_free_kbytes reserve)` +
        `: lower the utilisation`,
    );
  }
  if (b.kvPoolGiB <= 0) {
    add(
      true,
      n,
      "serving.gpuMemoryUtilization",
      `weights (${b.weightsGiB} GiB) and overhead (${b.overheadGiB} GiB)` +
        ` exceed the ${b.budgetGiB} GiB budget` +
        `: no room for any KV cache; raise the utilisation or lower max-num-seqs / the CUDA-graph capture size`,
    );
  } else if (b.kvPoolGiB < b.fullRequestGiB) {
    add(
      true,
      n,
      "serving.profile.maxModelLen",
      `the KV pool (~${b.kvPoolGiB} GiB, ${b.kvPoolTokens} tokens)` +
        ` cannot hold one ${inputs.maxModelLen}-token request (${b.fullRequestGiB} GiB)` +
        `: vLLM would refuse to start; lower maxModelLen, max-num-seqs or the capture size, or raise the utilisation`,
    );
  } else if (b.kvPoolGiB < b.fullRequestGiB + M) {
    add(
      false,
      n,
      "serving.profile.maxModelLen",
      `the KV pool (~${b.kvPoolGiB} GiB) is within the estimate's margin (${M} GiB)` +
        ` of one full ${inputs.maxModelLen}-token request (${b.fullRequestGiB} GiB): the engine may refuse to start`,
    );
  } else if (b.maxFullContextRequests < inputs.maxNumSeqs) {
    // The profiles' own trade-off (more sequences than full-context requests fit): a note, not a risk.
    add(
      "note",
      n,
      "serving.profile.maxNumSeqs",
      `${inputs.maxNumSeqs} sequences, but the KV pool (~${b.kvPoolTokens} tokens)` +
        ` holds ${b.maxFullContextRequests} at full context: the rest wait when requests are long`,
    );
  }
  if (b.headroomGiB < thresholdGiB) {
    add(
      false,
      n,
      "hardening.umaAlertThresholdGb",
      `predicted free memory while serving is ~${b.headroomGiB} GiB` +
        `, under the ${inputs.umaAlertThresholdGb} GiB alert threshold` +
        `: the headroom monitor will alert from the start; set the threshold below the headroom or lower the utilisation`,
    );
  }
  if (b.headroomGiB < 3) {
    add(
      false,
      n,
      "serving.gpuMemoryUtilization",
      `only ~${b.headroomGiB} GiB predicted free while serving: a load burst can OOM the host`,
    );
  }
}
