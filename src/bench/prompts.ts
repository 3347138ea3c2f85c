/**
 * Varied prompts: each starts with a tag unique to the run, level and request, so no two
 * requests share a prefix block and prefix caching cannot flatter the numbers.
 */
const TOPICS = [
  "how tides work",
  "the history of the printing press",
  "why the sky is blue",
  "how a refrigerator moves heat",
  "the life cycle of a star",
  "how vaccines train the immune system",
  "the rules of chess for a beginner",
  "how bread rises",
  "what makes a bridge stable",
  "the water cycle",
  "how compilers turn code into machine instructions",
  "the migration of arctic terns",
  "how noise-cancelling headphones work",
  "the origins of the Olympic games",
  "how coral reefs form",
  "why cats purr",
  "how GPS finds your position",
  "the causes of the seasons",
  "how a bill becomes a law",
  "the chemistry of caramelisation",
  "how batteries store energy",
  "the invention of the telescope",
  "how earthquakes are measured",
  "the basics of compound interest",
];
const STYLES = [
  "Explain {t} in a short paragraph.",
  "Write a brief, friendly explanation of {t} for a curious teenager.",
  "Give three key facts about {t}, then a one-sentence summary.",
  "Describe {t} as if writing an encyclopedia introduction.",
  "Summarise {t} for a busy engineer.",
];

/** A run id: short, random, printable. */
export function newRunId(): string {
  return Math.random().toString(36).slice(2, 8);
}

/** Prompt number `i` of concurrency level `level` (warm-up prompts use a different `phase`). */
export function benchPrompt(runId: string, phase: string, level: number, i: number): string {
  const topic = TOPICS[(i * 7 + level) % TOPICS.length] as string;
  const style = STYLES[(i + level * 3) % STYLES.length] as string;
  return `[${runId}-${phase}${level}-${i}] ${style.replace("{t}", topic)}`;
}
