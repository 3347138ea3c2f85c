/**
 * Host scripts that are real files: `src/host/*.sh` (shipped with the package, checked by
 * shellcheck, unit-tested by sourcing them). TypeScript renders only what goes in front of a file
 * (a quoted variable block, the node access block) and inlines the file's text, so the host
 * receives one self-contained script and reads nothing from the package at run time.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { shq } from "./quote";

/**
 * Where the shell files are: `<package>/src/host`. Compiled code runs from `dist/src/shell`, a
 * source checkout (ts-node and the like) from `src/shell`.
 */
export const HOST_DIR: string = (() => {
  const candidates = [resolve(__dirname, "..", "..", "..", "src", "host"), resolve(__dirname, "..", "host")];
  const found = candidates.find((d) => existsSync(join(d, "lib.sh")));
  if (!found)
    throw new Error(`dgx-spark-vllm: the host scripts (src/host/*.sh) are missing; looked in ${candidates.join(", ")}`);
  return found;
})();

const cache = new Map<string, string>();

/** The text of `src/host/<name>` without its `#!` line, ending in one newline (read once). */
export function hostFile(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    if (!/^[a-z0-9-]+\.(sh|py)$/.test(name)) throw new Error(`not a host script name: ${name}`);
    text = readFileSync(join(HOST_DIR, name), "utf8")
      .replace(/^#!.*\n/, "")
      .replace(/\n*$/, "\n");
    cache.set(name, text);
  }
  return text;
}

/** A value of the variable block: a word, an indexed array, or an associative array (Map). */
export type ShellVar = string | number | readonly (string | number)[] | ReadonlyMap<string, string | number>;

const NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * `NAME=value` lines, every value quoted by `shq`, in the order given: an array becomes
 * `NAME=(a 'b c')`, a Map `declare -A NAME=([k]=v ...)`.
 */
export function varBlock(vars: Readonly<Record<string, ShellVar>>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (!NAME.test(k)) throw new Error(`not a shell variable name for a host script: ${JSON.stringify(k)}`);
      let line: string;
      if (v instanceof Map) line = `declare -A ${k}=(${[...v].map(([a, b]) => `[${shq(a)}]=${shq(b)}`).join(" ")})`;
      else if (Array.isArray(v)) line = `${k}=(${v.map(shq).join(" ")})`;
      else line = `${k}=${shq(v as string | number)}`;
      // A quoted value that holds shell (a command line for later) is data here: say so to shellcheck.
      return /[`$]/.test(line.slice(k.length))
        ? `# shellcheck disable=SC2016 # a quoted value, expanded later\n${line}`
        : line;
    })
    .join("\n");
}

/**
 * A host script: `head` lines (shebang, comments, strict mode), the variable block, the node
 * access block when given, then the files' text in order.
 */
export function hostScript(parts: {
  readonly head: readonly string[];
  readonly vars?: Readonly<Record<string, ShellVar>>;
  readonly access?: string;
  readonly files: readonly string[];
  readonly tail?: readonly string[];
}): string {
  const out = [...parts.head];
  if (parts.vars && Object.keys(parts.vars).length > 0) out.push(varBlock(parts.vars));
  if (parts.access) out.push("", parts.access);
  for (const f of parts.files) out.push("", hostFile(f).replace(/\n$/, ""));
  if (parts.tail) out.push(...parts.tail);
  return `${out.join("\n")}\n`;
}
