/**
 * The one tagged template for short shell steps that mix data and shell:
 *   sh`docker rm -f ${name} >/dev/null 2>&1 || true`
 * quotes every interpolated value with `shq` (as zx's `$` does), so a call site never relies on
 * a value having been validated elsewhere. An array becomes separately quoted words. Text that is
 * already shell (a rendered fragment, a `fail(...)` clause) must be wrapped in `rawShell(...)`.
 */
import { shq } from "./quote";

/** Shell text that `sh` inserts as it is: only for fragments that were themselves rendered. */
export class RawShell {
  constructor(readonly text: string) {}
  /** In a plain template literal it is its text. */
  toString(): string {
    return this.text;
  }
}

/** Mark already-rendered shell so that `sh` inserts it unquoted. */
export function rawShell(text: string): RawShell {
  return new RawShell(text);
}

export type ShValue = string | number | RawShell | readonly (string | number)[];

function render(v: ShValue): string {
  if (v instanceof RawShell) return v.text;
  if (typeof v === "string" || typeof v === "number") return shq(v);
  return v.map(shq).join(" ");
}

/** Shell text with every interpolated value quoted as one word (arrays: one word each). */
export function sh(strings: TemplateStringsArray, ...values: readonly ShValue[]): string {
  let out = strings[0] as string;
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] as string);
  });
  return out;
}
