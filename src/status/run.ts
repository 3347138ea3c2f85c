/**
 * Running `status` and `logs` over SSH (the same session as doctor: the config's key or
 * --identity, the pinned host keys, BatchMode). `logs --follow` streams each node's `docker logs`
 * through its own ssh process and prefixes every line with the node as it arrives.
 */
import { spawn } from "node:child_process";
import type { ClusterPlan } from "../plan/types";
import { SshSession, type SshSettings } from "../ssh/session";
import { interleave, logsCommand, type NodeStatus, parseStatus, statusScript } from "./index";

export interface StatusOptions extends SshSettings {
  /** API key for the head's /metrics (never printed). */
  readonly apiKey?: string;
  /** Seconds between the two /metrics samples. */
  readonly sampleS?: number;
}

/** Every node's status, read in parallel. */
export async function readStatus(plan: ClusterPlan, opts: StatusOptions = {}): Promise<NodeStatus[]> {
  const session = new SshSession(opts);
  try {
    return await Promise.all(
      plan.nodes.map(async (node) => {
        const r = await session.run(
          node,
          statusScript(plan, node, opts.sampleS),
          node.role === "head" ? (opts.apiKey ?? "") : "",
          { timeoutMs: 30_000 },
        );
        const err = r.error ?? (r.code !== 0 ? r.stderr.trim().split("\n").pop() || `ssh exit ${r.code}` : undefined);
        return parseStatus(node, r.stdout, err);
      }),
    );
  } finally {
    session.close();
  }
}

export interface LogsOptions extends SshSettings {
  readonly since?: string;
  readonly tail?: number;
}

/** Both ranks' logs, interleaved by time, each line with its node. */
export async function readLogs(
  plan: ClusterPlan,
  opts: LogsOptions = {},
): Promise<{ lines: string[]; errors: string[] }> {
  const session = new SshSession(opts);
  try {
    const results = await Promise.all(
      plan.nodes.map(async (node) => {
        const r = await session.exec(
          session.connectionOf(node),
          logsCommand(node, {
            ...(opts.since ? { since: opts.since } : {}),
            ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
          }),
        );
        return { node: node.name, r };
      }),
    );
    const errors = results
      .filter((x) => x.r.error || x.r.code !== 0)
      .map((x) => `${x.node}: ${x.r.error ?? (x.r.stdout.trim().split("\n").pop() || `exit ${x.r.code}`)}`);
    return { lines: interleave(results.map((x) => ({ node: x.node, text: x.r.stdout }))), errors };
  } finally {
    session.close();
  }
}

/**
 * Follow both ranks: one ssh per node running `docker logs --follow`, lines printed as they come
 * with the node's prefix. Resolves when every stream ended (or `signal` aborted them).
 */
export async function followLogs(
  plan: ClusterPlan,
  out: (line: string) => void,
  opts: LogsOptions & { signal?: AbortSignal } = {},
): Promise<number> {
  const session = new SshSession(opts);
  const width = Math.max(...plan.nodes.map((n) => n.name.length));
  try {
    const codes = await Promise.all(
      plan.nodes.map(
        (node) =>
          new Promise<number>((resolve) => {
            const [cmd, ...args] = session.argv(node);
            const command = logsCommand(node, {
              follow: true,
              ...(opts.since ? { since: opts.since } : {}),
              ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
            });
            const p = spawn(cmd as string, [...args, command], { stdio: ["ignore", "pipe", "pipe"] });
            const prefix = `[${node.name.padEnd(width)}] `;
            let buf = "";
            const onData = (d: Buffer) => {
              buf += d.toString("utf8");
              let i = buf.indexOf("\n");
              while (i >= 0) {
                const line = buf.slice(0, i);
                buf = buf.slice(i + 1);
                out(prefix + line.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z /, ""));
                i = buf.indexOf("\n");
              }
            };
            p.stdout.on("data", onData);
            p.stderr.on("data", onData);
            // Stop: end ssh and stop reading (a remote child that still holds the pipe must not keep us waiting).
            const stop = () => {
              p.kill("SIGTERM");
              p.stdout.destroy();
              p.stderr.destroy();
            };
            opts.signal?.addEventListener("abort", stop, { once: true });
            p.on("close", (code) => {
              opts.signal?.removeEventListener("abort", stop);
              if (buf) out(prefix + buf);
              resolve(code ?? 0);
            });
            p.on("error", (e) => {
              out(`${prefix}cannot run ssh: ${e.message}`);
              resolve(255);
            });
          }),
      ),
    );
    return codes.every((c) => c === 0) || opts.signal?.aborted ? 0 : 1;
  } finally {
    session.close();
  }
}
