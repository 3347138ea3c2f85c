/**
 * Small typed builders for the bash that runs on a Spark. Every script starts with `PROLOGUE`
 * (strict mode, sudo only when not root, the host's undo journal) and is idempotent; every
 * change it makes has a matching undo built by the same module.
 */
import { shq } from "./quote";
import { rawShell, sh, type RawShell } from "./sh";

/** Where a host records what it looked like before we changed it. */
export const JOURNAL_DIR = "/var/lib/dgx-spark-vllm/journal";

const STRICT = "set -euo pipefail";
const SUDO_LINE = 'if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi';

/** The whole prologue: strict mode, `$SUDO`, `$J`. */
export const PROLOGUE = [STRICT, SUDO_LINE, `J=${JOURNAL_DIR}`].join("\n");

/**
 * The prologue a body needs: strict mode, then `SUDO` and `J` (the journal folder, default the
 * host-wide one) only when the body uses them (`$J` needs `$SUDO` to make the journal folder), so
 * no script sets a variable it never reads.
 */
export function prologue(body: string, journal: string = JOURNAL_DIR): string {
  const usesJournal = body.includes("$J");
  const usesSudo = usesJournal || body.includes("$SUDO");
  return [STRICT, ...(usesSudo ? [SUDO_LINE] : []), ...(usesJournal ? [`J=${shq(journal)}`] : [])].join("\n");
}

/**
 * A complete script: the prologue, then the body lines. The journal folder is made only when
 * the body uses it, so read-only checks leave no trace on the host.
 */
export function script(...body: string[]): string {
  return scriptIn(JOURNAL_DIR, ...body);
}

/** `script` keeping its records in `journal` (a cluster's own journal: src/plan/names.ts). */
export function scriptIn(journal: string, ...body: string[]): string {
  const text = body.join("\n");
  const usesJournal = text.includes("$J");
  return `${[prologue(text, journal), ...(usesJournal ? ['$SUDO mkdir -p "$J"'] : []), text].join("\n")}\n`;
}

const RMDIR_JOURNAL = 'if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi';

/**
 * A complete undo script: like `script`, then the journal folder (and its parent) removed once
 * the last record is gone, so a full delete leaves nothing of ours on the host.
 */
export function undoScript(...body: string[]): string {
  return scriptIn(JOURNAL_DIR, ...body, RMDIR_JOURNAL);
}

/** `undoScript` for records kept in `journal`. */
export function undoScriptIn(journal: string, ...body: string[]): string {
  return scriptIn(journal, ...body, RMDIR_JOURNAL);
}

/** Journal key for a path: `/etc/x.conf` -> `file%etc%x.conf`. */
function fileKey(path: string): string {
  return `file${path.replace(/\//g, "%")}`;
}

const EOF_MARK = "DGX_SPARK_VLLM_EOF";

/**
 * Write a file we own. The first time, whatever was at `path` before is kept in the journal (or
 * its absence is noted) so that `removeManagedFile` can put it back.
 */
export function writeManagedFile(path: string, content: string, mode = "0644"): string {
  if (content.split("\n").includes(EOF_MARK)) throw new Error(`file content for ${path} contains the heredoc marker`);
  const key = fileKey(path);
  const parent = shq(path.replace(/\/[^/]*$/, "") || "/");
  return [
    `if [ ! -e "$J/${key}.orig" ] && [ ! -e "$J/${key}.absent" ]; then`,
    `  if [ -e ${shq(path)} ]; then $SUDO cp -p ${shq(path)} "$J/${key}.orig"; else $SUDO touch "$J/${key}.absent"; fi`,
    "fi",
    // Note the folders mkdir -p is about to create (deepest first) so that removal can take them away again.
    `if [ ! -e "$J/${key}.dirs" ]; then d=${parent}; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/${key}.dirs" >/dev/null; fi`,
    `$SUDO mkdir -p ${parent}`,
    `$SUDO tee ${shq(path)} >/dev/null <<'${EOF_MARK}'`,
    content.replace(/\n?$/, ""),
    EOF_MARK,
    `$SUDO chmod ${mode} ${shq(path)}`,
  ].join("\n");
}

/** Undo `writeManagedFile`: restore the original, or remove the file if there was none. */
export function removeManagedFile(path: string): string {
  const key = fileKey(path);
  return [
    `if [ -e "$J/${key}.orig" ]; then $SUDO cp -p "$J/${key}.orig" ${shq(path)}; $SUDO rm -f "$J/${key}.orig";`,
    `else $SUDO rm -f ${shq(path)}; fi`,
    `$SUDO rm -f "$J/${key}.absent"`,
    // Folders we created for the file go again when empty.
    `if [ -e "$J/${key}.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/${key}.dirs"; $SUDO rm -f "$J/${key}.dirs"; fi`,
  ].join("\n");
}

/** Fail with a message naming the node and the step (shell, usable as is inside `sh`). */
export function fail(node: string, step: string, message: string): RawShell {
  return rawShell(sh`{ echo ${`dgx-spark-vllm: node ${node}: ${step}: ${message}`} >&2; exit 1; }`);
}
