/** "Did you mean" for a misspelt key, option, command or stack name (Levenshtein distance, no dependency). */

/** Edit distance between two strings (insertions, deletions, substitutions, swaps of neighbours; case-insensitive). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(s.length, t.length);
}

/**
 * The closest candidate, when it is close enough to be a likely typo (at most a third of the
 * word's length, and at least one edit allowed), else undefined.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD && d <= limit && c !== word) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** `" (did you mean 'serving'?)"` (the candidate after `prefix`, e.g. "--"), or "" when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>, prefix = ""): string {
  const c = closest(word, candidates);
  return c === undefined ? "" : ` (did you mean '${prefix}${c}'?)`;
}
