/** Test helpers: a captured CliIo, a stand-in per test, a fake `ssh` executable, short timeouts. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Timeouts } from "../../src/bench/client";
import { type StandinServer, startStandin } from "../support/standin";

export const FAST: Timeouts = { firstTokenMs: 3_000, idleMs: 1_000, totalMs: 10_000 };

export interface CapturedIo {
  out(s: string): void;
  err(s: string): void;
  readonly stdout: string;
  readonly stderr: string;
}

export function captureIo(): CapturedIo {
  let stdout = "";
  let stderr = "";
  return {
    out: (s: string) => {
      stdout += s;
    },
    err: (s: string) => {
      stderr += s;
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

/** Start a stand-in, run `fn`, always close it. */
export async function withStandin<T>(
  opts: ConstructorParameters<typeof StandinServer>[0],
  fn: (s: StandinServer) => Promise<T>,
): Promise<T> {
  const s = await startStandin(opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** A 127.0.0.1 port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const made: string[] = [];
// Every folder a test file made goes when its process ends (node --test runs one process per file).
process.on("exit", () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix = "dgx-bench-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/**
 * A fake `ssh`: appends its argv (one line, space-joined) to `<dir>/ssh.log`, then answers
 * `cat /proc/meminfo` with MemAvailable from `<dir>/memavail-<host>` (kB; decremented by
 * `<dir>/step-<host>` each call when present) and `docker logs X` with `<dir>/docker.log` on
 * stdout and `<dir>/docker.stderr.log` on stderr (docker replays the container's stderr there).
 * Exit 255 when `<dir>/fail` exists (like an unreachable host).
 */
export function fakeSsh(dir: string): string {
  const path = join(dir, "ssh");
  writeFileSync(
    path,
    `#!/bin/sh
echo "$*" >> "${dir}/ssh.log"
if [ -e "${dir}/fail" ]; then echo "ssh: connect to host: No route to host" >&2; exit 255; fi
target=""
for a in "$@"; do case "$a" in *@*) target="\${a#*@}";; esac; done
case "$*" in
  *"cat /proc/meminfo"*)
    f="${dir}/memavail-$target"; [ -e "$f" ] || f="${dir}/memavail"
    v=$(cat "$f")
    if [ -e "${dir}/step-$target" ]; then echo $((v - $(cat "${dir}/step-$target"))) > "$f"; fi
    printf 'MemTotal:       127535256 kB\\nMemFree:         2000000 kB\\nMemAvailable:   %s kB\\nBuffers:           1000 kB\\n' "$v";;
  *"docker logs"*) cat "${dir}/docker.log"; [ -e "${dir}/docker.stderr.log" ] && cat "${dir}/docker.stderr.log" >&2; exit 0;;
  *) echo "unexpected remote command: $*" >&2; exit 1;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Rough well-formedness check for generated XML: every opened tag is closed in order. */
export function xmlBalanced(xml: string): boolean {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g;
  for (const m of xml.matchAll(re)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name as string);
  }
  return stack.length === 0;
}
