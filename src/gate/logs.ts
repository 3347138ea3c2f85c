/**
 * Gate f (optional): the head container's log markers. Requires `NET/IB` (NCCL uses RDMA; it is only
 * logged with NCCL_DEBUG=INFO), the expected KV cache dtype, and none of the fallback markers.
 */
import { readFile } from "node:fs/promises";
import { shq } from "../shell/quote";
import { describeExecFailure, type SshNode, type SshSession } from "../ssh";
import { type CheckResult, result } from "./types";

/** Markers a public gate treats as silent fallbacks (RECIPE "Beyond the recipe"). */
export const DEFAULT_FORBIDDEN_MARKERS: readonly string[] = ["fall back to", "Marlin", "emulation"];

export type LogSource = { readonly describe: string; read(): Promise<string> };

/**
 * `docker logs <container>` on a node over the session's SSH (its pinned host key and private key;
 * stdout and stderr: docker writes to both).
 */
export function sshDockerLogs(
  session: SshSession,
  node: SshNode,
  container: string,
  opts: { timeoutMs?: number } = {},
): LogSource {
  const { user, host } = node.ssh;
  return {
    describe: `docker logs ${container} on ${user}@${host}`,
    async read() {
      const limits = { timeoutMs: opts.timeoutMs ?? 120_000, maxBytes: 256 * 1024 * 1024 };
      const r = await session.exec(session.connectionOf(node), `docker logs ${shq(container)}`, "", limits);
      if (r.error || r.code !== 0) {
        throw new Error(describeExecFailure(`ssh ${user}@${host} docker logs ${container}`, r));
      }
      return `${r.stdout}\n${r.stderr}`;
    },
  };
}

export function fileLogs(path: string): LogSource {
  return { describe: path, read: () => readFile(path, "utf8") };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export interface LogCheckOptions {
  readonly source: LogSource;
  /** Expected `--kv-cache-dtype` (the profile's, fp8). */
  readonly kvCacheDtype: string;
  readonly forbidden?: readonly string[];
}

/** Judge log text; exported for tests and for components that already hold the logs. */
export function judgeLogs(
  text: string,
  kvCacheDtype: string,
  forbidden: readonly string[] = DEFAULT_FORBIDDEN_MARKERS,
): { problems: string[]; details: Record<string, unknown> } {
  const problems: string[] = [];
  const lines = text.split("\n");
  const netIb = lines.filter((l) => l.includes("NET/IB"));
  const netSocket = lines.filter((l) => l.includes("NET/Socket"));
  if (netIb.length === 0) {
    problems.push(
      netSocket.length > 0
        ? `no NET/IB in the logs but NET/Socket is there: NCCL fell back to TCP (${netSocket[0]?.trim().slice(0, 160)})`
        : "no NET/IB in the logs: NCCL did not report RDMA (it only logs its transport with NCCL_DEBUG=INFO)",
    );
  }
  const dtype = escapeRe(kvCacheDtype);
  const want = new RegExp(
    `kv_cache_dtype\\s*[=:]\\s*['"]?${dtype}(?:_\\w+)?\\b|Using ${dtype}(?:_\\w+)? data type to store kv cache`,
    "i",
  );
  const seen = [...new Set([...text.matchAll(/kv_cache_dtype\s*[=:]\s*['"]?([\w]+)/gi)].map((m) => m[1] as string))];
  if (!want.test(text)) {
    problems.push(
      seen.length
        ? `KV cache dtype is ${seen.join(", ")}, expected ${kvCacheDtype}`
        : `no sign of the ${kvCacheDtype} KV cache dtype in the logs (kv_cache_dtype=${kvCacheDtype} in the engine config line)`,
    );
  }
  const hits: { marker: string; line: string }[] = [];
  for (const marker of forbidden) {
    const re = new RegExp(escapeRe(marker), "i");
    for (const l of lines) {
      if (re.test(l)) {
        hits.push({ marker, line: l.trim().slice(0, 200) });
        if (hits.filter((h) => h.marker === marker).length >= 3) break;
      }
    }
  }
  for (const h of hits) problems.push(`forbidden marker '${h.marker}': ${h.line}`);
  return {
    problems,
    details: {
      lines: lines.length,
      netIbLines: netIb.length,
      netSocketLines: netSocket.length,
      kvCacheDtypes: seen,
      forbiddenHits: hits,
    },
  };
}

export async function logsGate(opts: LogCheckOptions): Promise<CheckResult> {
  const t0 = performance.now();
  let text: string;
  try {
    text = await opts.source.read();
  } catch (e) {
    return result("logs", t0, {
      summary: "could not read the logs",
      problems: [`${opts.source.describe}: ${(e as Error).message}`],
      details: { source: opts.source.describe },
    });
  }
  const { problems, details } = judgeLogs(text, opts.kvCacheDtype, opts.forbidden);
  return result("logs", t0, {
    summary: problems.length
      ? `${problems.length} log problem(s)`
      : `NET/IB present, KV ${opts.kvCacheDtype}, no fallback markers`,
    problems,
    details: { source: opts.source.describe, ...details },
  });
}
