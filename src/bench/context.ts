/**
 * Long prompts of a chosen token length, for the depth sweep and the needle gate. There is no
 * tokenizer here: filler is plain English prose built word by word, and the server's own count
 * (`usage.prompt_tokens`) calibrates words per token before any measured request.
 */
import type { OpenAiClient, Timeouts } from "./client";

const WORDS = (
  "the river ran past the old mill where a miller kept his books in a small wooden box and every " +
  "morning he counted the sacks of grain that farmers brought from the hills while children played " +
  "near the water and the wheel turned slowly under a grey sky that promised rain before evening " +
  "his daughter wrote letters to a cousin in the city describing the harvest the market the price " +
  "of salt and the new bridge that engineers were building across the valley with stone carried " +
  "from a quarry two days away by cart and by boat along the canal that joined the towns"
).split(" ");

/** Deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` words of prose-like filler (sentences of 8-20 words), different for each seed. */
export function filler(n: number, seed: number): string {
  if (n <= 0) return "";
  const next = rng(seed);
  const out: string[] = [];
  let sentence = 0;
  let len = 8 + Math.floor(next() * 13);
  for (let i = 0; i < n; i++) {
    let w = WORDS[Math.floor(next() * WORDS.length)] as string;
    if (sentence === 0) w = w.charAt(0).toUpperCase() + w.slice(1);
    sentence++;
    if (sentence >= len || i === n - 1) {
      w += ".";
      sentence = 0;
      len = 8 + Math.floor(next() * 13);
    }
    out.push(w);
  }
  return out.join(" ");
}

/** A tag unique to one request, placed first in its prompt so no prefix block is shared. */
export function nonce(runId: string, label: string): string {
  return `[${runId}-${label}-${Math.random().toString(36).slice(2, 10)}]`;
}

/** How the server counts tokens for prompts built here: fixed overhead plus tokens per filler word. */
export interface TokenCalibration {
  /** Prompt tokens of a request whose message is just a nonce (chat template included). */
  readonly overheadTokens: number;
  readonly tokensPerWord: number;
  /** Filler words the calibration probe sent. */
  readonly probeWords: number;
}

/** Words of filler that bring a prompt to about `tokens` prompt tokens in total. */
export function wordsFor(tokens: number, cal: TokenCalibration, extraTokens = 0): number {
  return Math.max(0, Math.round((tokens - cal.overheadTokens - extraTokens) / cal.tokensPerWord));
}

/**
 * Tokens per filler word assumed when the probe must fit a small max_model_len: a bound, not a
 * measurement, above what tokenizers count for this prose (the real-server tests' tiny byte-level
 * tokenizer, 1024 tokens, counts about 3).
 */
const MAX_TOKENS_PER_WORD = 4;

/**
 * Two probe requests (max_tokens 1) with a unique nonce each: one with only the nonce, one with
 * `probeWords` words of filler (fewer when `maxModelLen` is known and that many might not fit: a
 * server refuses a longer prompt with HTTP 400); `usage.prompt_tokens` of both gives the overhead
 * and tokens per word. Throws an Error with a user-facing message when the server reports no usage.
 */
export async function calibrateTokens(
  client: OpenAiClient,
  model: string,
  runId: string,
  timeouts: Timeouts,
  probeWords = 2000,
  maxModelLen: number | null = null,
): Promise<TokenCalibration> {
  const ask = async (words: number) => {
    const r = await client.streamChat(
      {
        model,
        messages: [{ role: "user", content: `${nonce(runId, "cal")} ${filler(words, words + 7)}`.trim() }],
        max_tokens: 1,
        temperature: 0,
        chat_template_kwargs: { thinking: false },
      },
      timeouts,
      { keepText: false },
    );
    if (!r.ok) throw new Error(`calibration request failed: ${r.error?.kind}: ${r.error?.message}`);
    if (r.promptTokens === undefined)
      throw new Error(
        "the server reports no usage.prompt_tokens in its stream (stream_options.include_usage): cannot size prompts by tokens",
      );
    return r.promptTokens;
  };
  const base = await ask(0);
  const words =
    maxModelLen === null
      ? probeWords
      : Math.min(probeWords, Math.floor((maxModelLen - base - 1) / MAX_TOKENS_PER_WORD));
  if (words < 50)
    throw new Error(
      `max_model_len ${maxModelLen} leaves too little room to calibrate prompt sizes (${base} tokens of template)`,
    );
  const full = await ask(words);
  const per = (full - base) / words;
  if (!(per > 0)) throw new Error(`calibration failed: ${words} words counted as ${full - base} tokens`);
  return { overheadTokens: base, tokensPerWord: per, probeWords: words };
}
