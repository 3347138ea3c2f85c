/** Run a local command with a timeout and an output cap; never throws. */
import { spawn } from "node:child_process";

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the command could not run or timed out. */
  readonly error?: string;
}

/** Run a command with a timeout (never throws); `input`, when given, is written to its stdin. */
export function execCommand(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  maxBytes = 256 * 1024 * 1024,
  input?: string,
): Promise<ExecResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const done = (r: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, [...args], { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    } catch (e) {
      resolve({ code: null, stdout: "", stderr: "", error: `cannot run ${command}: ${(e as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done({ code: null, stdout, stderr, error: `${command} did not finish within ${Math.round(timeoutMs / 1000)} s` });
    }, timeoutMs);
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (c: string) => {
      if (stdout.length < maxBytes) stdout += c;
    });
    child.stderr?.on("data", (c: string) => {
      if (stderr.length < maxBytes) stderr += c;
    });
    child.on("error", (e: NodeJS.ErrnoException) =>
      done({
        code: null,
        stdout,
        stderr,
        error:
          e.code === "ENOENT" ? `${command} is not installed or not on PATH` : `cannot run ${command}: ${e.message}`,
      }),
    );
    child.on("close", (code) => done({ code, stdout, stderr }));
    if (input !== undefined) {
      child.stdin?.on("error", () => undefined); // the remote side may close early
      child.stdin?.end(input);
    }
  });
}

/** Short description of an SSH failure. */
export function describeExecFailure(what: string, r: ExecResult): string {
  if (r.error) return `${what}: ${r.error}`;
  const tail = r.stderr.trim().split("\n").slice(-2).join(" ").slice(0, 300);
  return `${what}: exit ${r.code}${tail ? ` (${tail})` : ""}`;
}
