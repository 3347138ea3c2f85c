/**
 * `dgx-spark-vllm status` and `logs` (docs/observability.md "status and logs"): what runs on each
 * node, read over the same SSH as doctor. Pure here: the read-only script each node runs, the
 * parser of its output, the screen; src/status/run.ts runs them, src/cli/status.ts is the CLI.
 *
 * The script prints `@key value` lines: the engine container's state, start time and docker
 * restart count; MemAvailable; on the head the watchdog's state and restarts in the last hour,
 * and two samples of vLLM's /metrics `SAMPLE_S` seconds apart (the recent tok/s is their
 * difference). stdin: the API key (or nothing), sent to /metrics in a header, never on a command line.
 */
import { vllmContainerName } from "../plan/container";
import type { ClusterPlan, NodePlan } from "../plan/types";
import { WATCHDOG_DIR_ENV, WATCHDOG_STATE_DIR } from "../plan/watchdog";
import { shellJoin } from "../shell/quote";
import { sh } from "../shell/sh";

/** Seconds between the two /metrics samples (the window of "recent tok/s"). */
export const SAMPLE_S = 2;

export function statusScript(plan: ClusterPlan, node: NodePlan, sampleS = SAMPLE_S): string {
  const c = vllmContainerName(node.name);
  const lines = [
    "set -uo pipefail",
    ...(node.role === "head" ? ["key=; IFS= read -r key || true"] : []),
    'echo "@node $(hostname)"',
    sh`out=$(timeout 6 docker inspect -f '{{.State.Status}} {{.State.StartedAt}} {{.RestartCount}} {{.State.ExitCode}}'` +
      sh` ${c} 2>&1)` +
      sh` && echo "@container $out" || echo "@container missing $(printf '%s' "$out" | head -n 1)"`,
    'echo "@now $(date +%s)"',
    "echo \"@mem_available_kb $(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)\"",
    "echo \"@mem_total_kb $(awk '/^MemTotal:/ {print $2}' /proc/meminfo)\"",
  ];
  if (node.role === "head") {
    const base = `http://127.0.0.1:${plan.cluster.port}`;
    lines.push(
      `d=\${${WATCHDOG_DIR_ENV}:-${WATCHDOG_STATE_DIR}}`,
      'if [ -e "$d/gave-up" ]; then echo "@watchdog gave-up";' +
        ' elif [ -e "$d/paused" ]; then echo "@watchdog paused";' +
        ' elif [ -d "$d" ]; then echo "@watchdog active"; else echo "@watchdog absent"; fi',
      "c=0; cut=$(( $(date +%s) - 3600 ));" +
        ' if [ -r "$d/restarts" ]; then while read -r t; do [ "$t" -gt "$cut" ] 2>/dev/null && c=$((c + 1));' +
        ' done < "$d/restarts"; fi;' +
        ' echo "@watchdog_restarts $c"',
      // The key reaches curl on a pipe (-H @-), never on its command line.
      sh`sample() { echo "@metrics $(date +%s.%N)";` +
        sh` { if [ -n "$key" ]; then printf 'Authorization: Bearer %s\n' "$key" | curl -fsS -m 5 -H @- ${`${base}/metrics`};` +
        sh` else curl -fsS -m 5 ${`${base}/metrics`}; fi; } 2>/dev/null` +
        sh` | grep -E '^vllm:(num_requests_running|num_requests_waiting|kv_cache_usage_perc|` +
        sh`generation_tokens_total|prompt_tokens_total|` +
        sh`spec_decode_num_accepted_tokens_total|spec_decode_num_draft_tokens_total)[{ ]'` +
        sh` | sed 's/^/@m /'; }`,
      "sample",
      sh`sleep ${sampleS}`,
      "sample",
    );
  }
  lines.push("echo @end");
  return `${lines.join("\n")}\n`;
}

export interface NodeStatus {
  readonly node: string;
  readonly role: "head" | "worker";
  /** False when SSH failed or the script did not finish. */
  readonly reachable: boolean;
  readonly error?: string;
  readonly container?: {
    readonly name: string;
    /** running, exited, ..., or missing. */
    readonly state: string;
    readonly startedAt?: string;
    readonly uptimeS?: number;
    readonly restarts?: number;
    readonly exitCode?: number;
  };
  readonly memAvailableGiB?: number;
  readonly memTotalGiB?: number;
  readonly watchdog?: { readonly state: string; readonly restartsLastHour: number };
  readonly engine?: {
    readonly running?: number;
    readonly waiting?: number;
    readonly kvUsage?: number;
    /** Generation tokens per second over the sample window. */
    readonly generationTokS?: number;
    readonly promptTokS?: number;
    readonly acceptanceRate?: number;
    /** Seconds between the two /metrics samples the rates come from. */
    readonly windowS?: number;
  };
}

type Sample = { t: number; m: Map<string, number> };

/** Sum a metric family over its label sets (one engine today, but vLLM labels per engine). */
function parseSamples(lines: readonly string[]): Sample[] {
  const out: Sample[] = [];
  for (const l of lines) {
    if (l.startsWith("@metrics ")) out.push({ t: Number(l.slice(9)), m: new Map() });
    else if (l.startsWith("@m ") && out.length > 0) {
      const m = /^@m ([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(l);
      if (!m) continue;
      const v = Number(m[3]);
      if (!Number.isFinite(v)) continue;
      const s = out[out.length - 1] as Sample;
      s.m.set(m[1] as string, (s.m.get(m[1] as string) ?? 0) + v);
    }
  }
  return out;
}

const GIB = 1024 * 1024;

/** Read one node's script output. */
export function parseStatus(node: NodePlan, stdout: string, error?: string): NodeStatus {
  const lines = stdout.split("\n");
  const get = (k: string) => lines.find((l) => l.startsWith(`@${k} `))?.slice(k.length + 2);
  const base = { node: node.name, role: node.role };
  if (!lines.includes("@end")) {
    return { ...base, reachable: false, error: error || "the status script did not finish" };
  }
  const now = Number(get("now"));
  const c = (get("container") ?? "missing").split(" ");
  const state = c[0] ?? "missing";
  const container =
    state === "missing"
      ? { name: vllmContainerName(node.name), state }
      : (() => {
          const startedAt = c[1];
          const started = startedAt ? Date.parse(startedAt) / 1000 : Number.NaN;
          return {
            name: vllmContainerName(node.name),
            state,
            ...(startedAt ? { startedAt } : {}),
            ...(state === "running" && Number.isFinite(started) && Number.isFinite(now)
              ? { uptimeS: Math.max(0, Math.round(now - started)) }
              : {}),
            ...(c[2] !== undefined ? { restarts: Number(c[2]) } : {}),
            ...(c[3] !== undefined && state !== "running" ? { exitCode: Number(c[3]) } : {}),
          };
        })();
  const kb = Number(get("mem_available_kb"));
  const total = Number(get("mem_total_kb"));
  const wd = get("watchdog");
  const samples = parseSamples(lines);
  let engine: NodeStatus["engine"];
  const last = samples[samples.length - 1];
  if (last && last.m.size > 0) {
    const first = samples[0] as Sample;
    const dt = last.t - first.t;
    const rate = (k: string) => {
      const a = first.m.get(k);
      const b = last.m.get(k);
      return samples.length > 1 && dt > 0 && a !== undefined && b !== undefined ? Math.max(0, (b - a) / dt) : undefined;
    };
    const acc = rate("vllm:spec_decode_num_accepted_tokens_total");
    const drafted = rate("vllm:spec_decode_num_draft_tokens_total");
    const fields = {
      running: last.m.get("vllm:num_requests_running"),
      waiting: last.m.get("vllm:num_requests_waiting"),
      kvUsage: last.m.get("vllm:kv_cache_usage_perc"),
      generationTokS: rate("vllm:generation_tokens_total"),
      promptTokS: rate("vllm:prompt_tokens_total"),
      acceptanceRate: acc !== undefined && drafted ? acc / drafted : undefined,
      windowS: samples.length > 1 && dt > 0 ? Math.round(dt * 10) / 10 : undefined,
    };
    engine = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  }
  return {
    ...base,
    reachable: true,
    container,
    ...(Number.isFinite(kb) && kb > 0 ? { memAvailableGiB: round1(kb / GIB) } : {}),
    ...(Number.isFinite(total) && total > 0 ? { memTotalGiB: round1(total / GIB) } : {}),
    ...(wd !== undefined ? { watchdog: { state: wd, restartsLastHour: Number(get("watchdog_restarts") ?? 0) } } : {}),
    ...(engine ? { engine } : {}),
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export function formatDuration(s: number): string {
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : `${m}m${s % 60}s`;
}

/** One screen: a block per node. `thresholdGiB`: the UMA alert threshold, flagged when under. */
export function renderStatus(statuses: readonly NodeStatus[], plan: ClusterPlan, at: string): string {
  const out = [
    `dgx-spark-vllm status: ${plan.profile.name} profile, ${plan.model.servedName} on ${plan.cluster.endpoint}   ${at}`,
  ];
  const thr = plan.hardening.umaAlertThresholdGb;
  for (const s of statuses) {
    out.push("", `${s.node} (${s.role})`);
    if (!s.reachable) {
      out.push(`  unreachable: ${s.error ?? "no answer"}`);
      continue;
    }
    const c = s.container;
    if (c) {
      const parts = [`${c.name}: ${c.state}`];
      if (c.uptimeS !== undefined) parts.push(`up ${formatDuration(c.uptimeS)}`);
      if (c.exitCode !== undefined) parts.push(`exit code ${c.exitCode}`);
      if (c.restarts !== undefined) parts.push(`docker restarts ${c.restarts}`);
      out.push(`  container  ${parts.join(", ")}`);
    }
    if (s.memAvailableGiB !== undefined) {
      const low = s.memAvailableGiB < thr ? `  LOW: under the ${thr} GiB alert threshold` : "";
      out.push(`  UMA free   ${s.memAvailableGiB} GiB of ${s.memTotalGiB ?? "?"} GiB${low}`);
    }
    if (s.watchdog) {
      const cap = plan.watchdog.maxRestartsPerHour;
      out.push(`  watchdog   ${s.watchdog.state}, restarts in the last hour ${s.watchdog.restartsLastHour} of ${cap}`);
    }
    if (s.role === "head") {
      const e = s.engine;
      if (!e) out.push("  engine     /metrics did not answer");
      else {
        const pct = (x?: number) => (x === undefined ? "?" : `${(x * 100).toFixed(1)}%`);
        const n = (x?: number) => (x === undefined ? "?" : String(x));
        const tps = (x?: number) => (x === undefined ? "?" : x.toFixed(1));
        out.push(`  requests   running ${n(e.running)}, waiting ${n(e.waiting)}   KV cache ${pct(e.kvUsage)}`);
        out.push(
          `  tok/s      generation ${tps(e.generationTokS)}, prompt ${tps(e.promptTokS)} (last ${e.windowS ?? "?"} s)` +
            `${e.acceptanceRate !== undefined ? `   MTP acceptance ${pct(e.acceptanceRate)}` : ""}`,
        );
      }
    }
  }
  return `${out.join("\n")}\n`;
}

/** `docker logs` for one node's engine container, with timestamps (for interleaving). */
export function logsCommand(node: NodePlan, opts: { since?: string; follow?: boolean; tail?: number }): string {
  const argv = [
    "docker",
    "logs",
    "--timestamps",
    ...(opts.follow ? ["--follow"] : []),
    ...(opts.since ? [`--since=${opts.since}`] : []),
    ...(opts.tail !== undefined ? [`--tail=${opts.tail}`] : []),
    vllmContainerName(node.name),
  ];
  return `${shellJoin(argv)} 2>&1`;
}

/** Interleave the nodes' timestamped lines by time (stable per node), each with its node prefix. */
export function interleave(byNode: readonly { node: string; text: string }[]): string[] {
  const width = Math.max(...byNode.map((b) => b.node.length));
  const all: { t: string; i: number; line: string }[] = [];
  let i = 0;
  for (const b of byNode) {
    let lastT = "";
    for (const line of b.text.split("\n")) {
      if (line === "") continue;
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z ?(.*)$/.exec(line);
      // A line without a timestamp (a continuation) stays after the previous one of its node.
      const t = m ? `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}` : lastT;
      lastT = t;
      all.push({ t, i: i++, line: `[${b.node.padEnd(width)}] ${m ? m[3] : line}` });
    }
  }
  return all.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.i - b.i)).map((x) => x.line);
}
