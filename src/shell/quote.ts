/**
 * The one place where a value becomes part of a shell command.
 *
 * Every value that reaches a shell on a Spark is either matched against a strict pattern in the
 * config schema (names, interfaces, HCAs, addresses, paths, refs) or passed through `shq`, which
 * wraps it in single quotes so that the shell sees exactly one word with no expansion at all.
 * Nothing else in the library builds command text from config values.
 */

/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote one value as a single POSIX shell word.
 * `shq("a b")` -> `'a b'`, `shq("it's")` -> `'it'\''s'`, `shq("$(id)")` -> `'$(id)'`.
 * Plain words (letters, digits and `_@%+=:,./-`) are returned as they are, for readability.
 */
export function shq(value: string | number): string {
  const s = String(value);
  if (s.length > 0 && SAFE_WORD.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Render an argv as one shell command line, each element quoted by `shq`. */
export function shellJoin(argv: readonly (string | number)[]): string {
  return argv.map(shq).join(" ");
}

/** Render `KEY=value` assignments (for `env` or a script prologue), values quoted by `shq`. */
export function shellAssignments(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env)
    .sort()
    .map((k) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`not a valid environment variable name: ${JSON.stringify(k)}`);
      return `${k}=${shq(env[k] as string)}`;
    });
}
