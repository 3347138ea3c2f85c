/**
 * `dgx-spark-vllm recommend`: which configuration to run for a context x concurrency target
 * (src/plan/recommend.ts). `--write` writes the first one as a stack file and plans it, printing
 * every warning `plan` will print for it.
 */
import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { stringify } from "yaml";
import { ConfigError } from "../config/errors";
import { IMAGE_PRESET_NAMES } from "../models";
import { planFromInput } from "../plan/cluster";
import { type Candidate, type Priority, parseTokens, recommend, tokensLabel, why } from "../plan/recommend";
import { readClusterInput } from "./args";
import { type CliIo, parseOptions } from "./options";

export const RECOMMEND_USAGE = `usage: dgx-spark-vllm recommend --context <tokens> --concurrency <n> [--priority latency|throughput|context]
                                 [--nodes 2] [--image <preset|build>] [--json] [--write <stacks/Pulumi.NAME.yaml>]

Which configuration to run: every configuration the config can express for two Sparks (variant,
speculative method, KV dtype, image, utilisation 0.80/0.82) is planned with max-model-len = the
context and max-num-seqs = the concurrency. It fits when the plan has no error and the worst case
(every request at full context) holds the concurrency. Each is shown with the nearest public
measurement (src/models/published-results.ts) or "not measured publicly"; nothing is estimated.

  --context T      tokens per request: 200000, 200k (= 200,000), 256K (= 262,144), 1M (= 1,048,576)
  --concurrency N  requests at full context at once
  --priority P     latency (default: fastest measured single stream), throughput (fastest measured
                   aggregate), context (most spare full-context requests)
  --nodes N        Sparks (only 2: one TP=2 replica)
  --image I        only this image: ${IMAGE_PRESET_NAMES.join(", ")} or build (the default source build)
  --json           print the whole table as JSON
  --write FILE     write the first recommendation as a stack file that \`plan\` accepts
  -h, --help       print this help

Exit codes: 0 ok, 2 the target does not fit (with the nearest targets that do) or bad usage.
`;

const RECOMMEND_FLAGS = {
  context: { type: "string" },
  concurrency: { type: "string" },
  priority: { type: "string" },
  nodes: { type: "string" },
  image: { type: "string" },
  json: { type: "boolean" },
  write: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function runRecommendCli(argv: readonly string[], io: CliIo, now = new Date()): number {
  const parsed = parseOptions(argv, RECOMMEND_FLAGS, RECOMMEND_USAGE, io);
  if (typeof parsed === "number") return parsed;
  const v = parsed as Record<string, string | boolean | undefined>;
  const usage = (msg: string) => {
    io.err(`recommend: ${msg}\n\n${RECOMMEND_USAGE}`);
    return 2;
  };
  const t = targetOf(v);
  if (typeof t === "string") return usage(t);
  const { context, concurrency, priority, image } = t;
  if (typeof v.write === "string" && existsSync(resolve(v.write)))
    return usage(`--write ${v.write} exists: choose another name (recommend does not overwrite)`);
  const r = recommend({ context, concurrency, priority, ...(image ? { image } : {}) }, now);
  const first = r.top[0];
  let written: { file: string; warnings: string[] } | undefined;
  if (typeof v.write === "string" && first) {
    try {
      written = writeStack(v.write, first, r.target, now);
    } catch (e) {
      if (e instanceof ConfigError) {
        io.err(`recommend: the written stack does not plan cleanly (a bug, please report): ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  }
  if (v.json) {
    io.out(`${JSON.stringify({ ...r, ...(written ? { written } : {}) }, null, 2)}\n`);
    return r.impossible ? 2 : 0;
  }
  const lines = renderRecommendation(r, context, concurrency, priority, written);
  if (r.impossible) {
    io.out(`${lines.join("\n")}\n`);
    io.err(`${r.impossible}\n`);
    return 2;
  }
  io.out(`${lines.join("\n")}\n`);
  return 0;
}

/** The target from the flags, or what is wrong with them. */
function targetOf(
  v: Record<string, string | boolean | undefined>,
): { context: number; concurrency: number; priority: Priority; image: string | undefined } | string {
  const context = typeof v.context === "string" ? parseTokens(v.context) : undefined;
  if (context === undefined) return "--context is required: a token count such as 200k, 256K or 1M";
  if (context < 1024 || context > 1_048_576)
    return `--context ${v.context} is ${context} tokens: DeepSeek-V4-Flash serves 1,024 to 1,048,576`;
  const concurrency = typeof v.concurrency === "string" && /^\d+$/.test(v.concurrency) ? Number(v.concurrency) : 0;
  if (concurrency < 1 || concurrency > 1024) return "--concurrency is required: a whole number from 1 to 1024";
  const priority = (v.priority ?? "latency") as Priority;
  if (!["latency", "throughput", "context"].includes(priority))
    return `--priority ${v.priority}: use latency, throughput or context`;
  if (v.nodes !== undefined && v.nodes !== "2")
    return `--nodes ${v.nodes}: recommend covers two Sparks (one TP=2 replica); more Sparks run as replicas of two (docs/operations.md)`;
  const image = typeof v.image === "string" ? v.image : undefined;
  if (image !== undefined && image !== "build" && !(IMAGE_PRESET_NAMES as string[]).includes(image))
    return `--image ${image}: use one of ${IMAGE_PRESET_NAMES.join(", ")} or build`;
  return { context, concurrency, priority, image };
}

/** The report: the target, the top three with why, warnings, the rejected, the file written. */
function renderRecommendation(
  r: ReturnType<typeof recommend>,
  context: number,
  concurrency: number,
  priority: Priority,
  written: { file: string; warnings: string[] } | undefined,
): string[] {
  const L = tokensLabel(context);
  const lines = [
    `Target     ${concurrency} x ${L} tokens (${context.toLocaleString("en-US")}) at once` +
      `, priority ${priority}, 2 nodes; ${r.candidates.length} configurations planned`,
  ];
  if (r.top.length > 0) {
    lines.push("Recommended");
    r.top.forEach((c, i) => {
      lines.push(`  ${i + 1}. ${c.id}`, `     ${why(c, context)}`);
      if (c.vllmLog)
        lines.push(
          `     vLLM 0.33.0 would log ~${c.vllmLog.tokens.toLocaleString("en-US")} tokens, ${c.vllmLog.concurrency.toFixed(2)}x (docs/memory.md)`,
        );
      for (const w of c.ownWarnings) lines.push(`     warning: ${w}`);
    });
    if (r.commonWarnings.length > 0) {
      lines.push("Warnings   every configuration, until you set them:");
      for (const w of r.commonWarnings) lines.push(`  - ${w}`);
    }
  }
  lines.push(`Rejected   ${r.rejected.length}`);
  for (const c of r.rejected) lines.push(`  - ${c.id}: ${c.rejected}`);
  if (written) {
    lines.push(`Wrote      ${written.file}: \`dgx-spark-vllm plan --config ${written.file}\` plans it`);
    lines.push("           replace the example nodes (spark-head, spark-worker) with yours");
    for (const w of written.warnings) lines.push(`           plan will warn: ${w}`);
  }
  return lines;
}

/** Write the candidate's stack file and plan it as `plan --config` would; returns every warning. */
function writeStack(
  path: string,
  c: Candidate,
  t: { context: number; concurrency: number; priority: string },
  now: Date,
): { file: string; warnings: string[] } {
  const file = resolve(path);
  const doc = {
    config: Object.fromEntries(Object.entries(c.config).map(([k, x]) => [`dgx-spark-vllm:${k}`, x])),
  };
  const m = c.measured;
  const header = [
    "# yaml-language-server: $schema=../schema/stack-config.schema.json",
    `# Written by \`dgx-spark-vllm recommend --context ${t.context} --concurrency ${t.concurrency} --priority ${t.priority}\``,
    `# on ${now.toISOString().slice(0, 10)}: ${c.id}.`,
    `# Memory: the planner's worst case holds ${c.fullContextRequests} x ${t.context} tokens at once (docs/memory.md).`,
    m
      ? `# Nearest public measurement: ${m.source} (${m.age}${m.differences.length ? `; ${m.differences.join(", ")}` : ""}).`
      : "# Throughput: not measured publicly.",
    "# The nodes are the example's: replace them with yours. Secrets as for the other stacks:",
    "#   pulumi config set --secret hfToken <token>",
    "#   pulumi config set --secret apiKey <key>",
    "#   pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519",
  ];
  const text = `${header.join("\n")}\n${stringify(doc)}`;
  writeFileSync(file, text);
  const { input } = readClusterInput({ config: file });
  const plan = planFromInput(input);
  return { file: path, warnings: plan.warnings.map((w) => `${w.path}: ${w.message}`) };
}
