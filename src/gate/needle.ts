/**
 * The long-context gate for the 1m/512k profiles: one fact (the needle) is hidden at several
 * depths of a long prompt of prose, and the model must give it back. A deployment whose long
 * context is broken (a RoPE/YaRN setting lost, a sparse-attention kernel that drops far blocks,
 * a silently truncated prompt) answers from the end of the prompt only and fails here, while
 * short-prompt checks pass.
 *
 * Prompts are sized in the server's own tokens (bench/context.ts calibrates words per token) up
 * to `maxDepth`; each starts with a nonce, so no request is served from the prefix cache of
 * another. One request at a time, temperature 0, thinking off.
 */
import { OpenAiClient, type StreamResult, type Timeouts } from "../bench/client";
import { calibrateTokens, filler, nonce, wordsFor } from "../bench/context";
import { newRunId } from "../bench/prompts";
import { withProgress } from "../bench/run";
import { fmtTokens, round } from "../bench/stats";
import { type CheckResult, result } from "./types";

export interface NeedleOptions {
  readonly endpoint: string;
  readonly apiKey?: string;
  readonly model: string;
  /** Prompt length in tokens (the longest context the gate exercises). */
  readonly maxDepth: number;
  /** Where the needle goes, as fractions of the prompt (0 = its start, 1 = its end). */
  readonly positions: readonly number[];
  /** The server's max_model_len, when known: maxDepth plus the answer must fit. */
  readonly maxModelLen?: number;
  readonly timeouts: Timeouts;
  readonly onProgress?: (line: string) => void;
  readonly progressIntervalMs?: number;
}

export const DEFAULT_NEEDLE_POSITIONS: readonly number[] = [0.1, 0.5, 0.9];
/** Tokens kept free under max_model_len for the question and the answer. */
export const NEEDLE_HEADROOM_TOKENS = 1024;
const ANSWER_TOKENS = 64;

const CODE_WORDS = ["amber", "falcon", "cedar", "harbor", "violet", "granite", "meadow", "copper", "lantern", "orchid"];

export interface NeedleProbe {
  /** Fraction of the prompt before the needle. */
  readonly position: number;
  /** About how many tokens precede the needle. */
  readonly needleAtToken: number;
  readonly promptTokens: number | null;
  readonly found: boolean;
  readonly expected: string;
  /** What the model said (trimmed, at most 200 characters). */
  readonly answer: string;
  readonly ttftMs: number | null;
  readonly error?: string;
}

/** A needle and the question that asks for it. */
export function makeNeedle(seed: number): { sentence: string; question: string; code: string } {
  const r = (k: number) => Math.floor(((Math.sin(seed * 97.13 + k * 13.7) + 1) / 2) * 1e6);
  const vault = `vault-${(r(1) % 0x10000).toString(16).toUpperCase().padStart(4, "0")}`;
  const code = `${CODE_WORDS[r(2) % CODE_WORDS.length]}-${CODE_WORDS[r(3) % CODE_WORDS.length]}-${1000 + (r(4) % 9000)}`;
  return {
    sentence: `The access code for ${vault} is ${code}.`,
    question: `What is the access code for ${vault}? Answer with the code only.`,
    code,
  };
}

/** The model's answer contains the code (case and surrounding punctuation ignored). */
export function answerHasCode(answer: string, code: string): boolean {
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, " ")
      .trim();
  return ` ${norm(answer)} `.includes(` ${norm(code)} `);
}

export async function needleGate(opts: NeedleOptions): Promise<CheckResult> {
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => undefined);
  const interval = opts.progressIntervalMs ?? 30_000;
  const problems: string[] = [];
  const notes: string[] = [];
  const probes: NeedleProbe[] = [];
  const details = () => ({
    maxDepth: opts.maxDepth,
    positions: opts.positions,
    ...(opts.maxModelLen !== undefined ? { maxModelLen: opts.maxModelLen } : {}),
    probes,
  });
  if (opts.maxModelLen !== undefined && opts.maxDepth + ANSWER_TOKENS + 64 > opts.maxModelLen) {
    problems.push(
      `--max-depth ${opts.maxDepth} leaves no room for the answer under max_model_len ${opts.maxModelLen}` +
        `: use at most ${opts.maxModelLen - NEEDLE_HEADROOM_TOKENS}`,
    );
    return result("needle", t0, { summary: `not run: ${problems[0]}`, problems, details: details() });
  }
  const client = new OpenAiClient({ endpoint: opts.endpoint, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  const runId = newRunId();
  try {
    let cal: Awaited<ReturnType<typeof calibrateTokens>>;
    try {
      cal = await calibrateTokens(client, opts.model, runId, opts.timeouts, undefined, opts.maxModelLen ?? null);
    } catch (e) {
      problems.push((e as Error).message);
      return result("needle", t0, { summary: `failed: ${problems[0]}`, problems, details: details() });
    }
    notes.push(
      `prompts sized at ${round(cal.tokensPerWord, 3)} tokens per word (+${cal.overheadTokens} template tokens), measured against the server`,
    );
    for (const [i, position] of opts.positions.entries()) {
      probes.push(await needleProbe({ opts, client, runId, cal, interval, say, problems }, i, position));
    }
  } finally {
    client.close();
  }
  const ok = probes.filter((p) => p.found).length;
  const where = opts.positions.map((p) => `${Math.round(p * 100)}%`).join(", ");
  return result("needle", t0, {
    summary: problems.length
      ? `failed: retrieved ${ok} of ${opts.positions.length} needles in a ${fmtTokens(opts.maxDepth)}-token prompt (at ${where})`
      : `retrieved the needle at ${where} of a ${fmtTokens(opts.maxDepth)}-token prompt`,
    problems,
    notes,
    details: details(),
  });
}

/** What every probe is asked with. */
interface NeedleRun {
  readonly opts: NeedleOptions;
  readonly client: OpenAiClient;
  readonly runId: string;
  readonly cal: Awaited<ReturnType<typeof calibrateTokens>>;
  readonly interval: number;
  readonly say: (line: string) => void;
  /** Each probe that fails adds its problem here. */
  readonly problems: string[];
}

/** One needle hidden at `position` of a maxDepth-token prompt, and whether the answer gives it back. */
async function needleProbe(
  { opts, client, runId, cal, interval, say, problems }: NeedleRun,
  i: number,
  position: number,
): Promise<NeedleProbe> {
  const needle = makeNeedle(Number.parseInt(runId, 36) + i);
  const questionTokens = Math.ceil((needle.question.split(" ").length + 4) * cal.tokensPerWord);
  const needleTokens = Math.ceil(needle.sentence.split(" ").length * cal.tokensPerWord);
  const words = wordsFor(opts.maxDepth, cal, questionTokens + needleTokens + 8);
  const before = Math.round(words * position);
  const prompt = [
    nonce(runId, `n${i}`),
    "Read the following text carefully; a question about it follows.",
    filler(before, i * 2 + 11),
    needle.sentence,
    filler(words - before, i * 2 + 12),
    `\n\n${needle.question}`,
  ]
    .filter((p) => p !== "")
    .join(" ");
  const label = `needle at ${Math.round(position * 100)}% of ${fmtTokens(opts.maxDepth)} tokens`;
  say(`${label}: asking`);
  const r: StreamResult = await withProgress(label, 1, interval, say, (track) =>
    track(() =>
      client.streamChat(
        {
          model: opts.model,
          messages: [{ role: "user", content: prompt }],
          max_tokens: ANSWER_TOKENS,
          temperature: 0,
          chat_template_kwargs: { thinking: false },
        },
        opts.timeouts,
        { onDelta: track.delta },
      ),
    ),
  );
  const answer = `${r.content}${r.reasoning ? ` ${r.reasoning}` : ""}`.replace(/\s+/g, " ").trim();
  const found = r.ok && answerHasCode(answer, needle.code);
  const probe: NeedleProbe = {
    position,
    needleAtToken: Math.round(cal.overheadTokens + before * cal.tokensPerWord),
    promptTokens: r.promptTokens ?? null,
    found,
    expected: needle.code,
    answer: answer.slice(0, 200),
    ttftMs: r.ttftMs !== undefined ? Math.round(r.ttftMs) : null,
    ...(r.ok ? {} : { error: `${r.error?.kind}: ${r.error?.message}` }),
  };
  if (!r.ok) problems.push(`${label}: the request failed (${r.error?.kind}): ${r.error?.message}`);
  else if (!found)
    problems.push(`${label}: not retrieved: expected ${needle.code}, the model answered "${answer.slice(0, 120)}"`);
  say(`${label}: ${r.ok ? (found ? "retrieved" : "NOT retrieved") : "request failed"}`);
  return probe;
}
