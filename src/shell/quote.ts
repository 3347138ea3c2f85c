/**
 * The one place where a value becomes part of a shell command: `shq` wraps it in single quotes
 * so that the shell sees exactly one word with no expansion at all. Callers use it through the
 * `sh` tagged template (src/shell/sh.ts) for short steps, or `varBlock` (src/shell/host.ts) for
 * the variables in front of a src/host/*.sh file; the config schema's patterns are a second
 * line of defence, not the reason a value is safe.
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
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        throw new Error(`not a valid environment variable name: ${JSON.stringify(k)}`);
      return `${k}=${shq(env[k] as string)}`;
    });
}
