/** Free-memory samplers for the soak gate: MemAvailable of each node, in MB. */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { describeExecFailure, type SshNode, type SshSession } from "../ssh";

export interface MemorySampler {
  /** Node name, as reports show it. */
  readonly node: string;
  /** MemAvailable in MB (1 MB = 1024 kB as /proc/meminfo counts). Throws with a user-facing message. */
  sample(): Promise<number>;
}

/** MemAvailable from /proc/meminfo text, in MB. Throws when absent. */
export function parseMemAvailableMb(meminfo: string): number {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  if (!m) throw new Error("no MemAvailable line in /proc/meminfo output");
  return Number(m[1]) / 1024;
}

/** `cat /proc/meminfo` on a node over the session's SSH (the real thing on the Sparks). */
export function sshMemorySampler(session: SshSession, node: SshNode, opts: { timeoutMs?: number } = {}): MemorySampler {
  return {
    node: node.name,
    async sample() {
      const limits = { timeoutMs: opts.timeoutMs ?? 15_000 };
      const r = await session.exec(session.connectionOf(node), "cat /proc/meminfo", "", limits);
      if (r.error || r.code !== 0)
        throw new Error(describeExecFailure(`ssh ${node.ssh.user}@${node.ssh.host} cat /proc/meminfo`, r));
      return parseMemAvailableMb(r.stdout);
    },
  };
}

/** This machine's /proc/meminfo (when the gate runs on the node itself). */
export function localMemorySampler(name = hostname(), path = "/proc/meminfo"): MemorySampler {
  return {
    node: name,
    async sample() {
      return parseMemAvailableMb(await readFile(path, "utf8"));
    },
  };
}

/** A sampler from a function (tests, custom collectors). */
export function functionSampler(node: string, fn: () => number | Promise<number>): MemorySampler {
  return { node, sample: async () => fn() };
}
