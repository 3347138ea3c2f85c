/**
 * `dgx-spark-vllm status` (one screen per node: container, uptime, restarts, UMA free, KV usage,
 * running/waiting, recent tok/s; --watch, --json) and `dgx-spark-vllm logs` (both ranks
 * interleaved with a node prefix; --follow, --since, --tail), over the same SSH as doctor
 * (src/status/).
 */
import { ConfigError } from "../config/errors";
import { renderStatus } from "../status";
import { followLogs, readLogs, readStatus } from "../status/run";
import { readRouterStatus, renderRouterStatus } from "../status/router";
import type { SshSettings } from "../ssh/session";
import { readStackAccess, type StackAccess } from "./args";
import { type CliIo, parseOptions, STACK_OPTIONS, UsageError } from "./options";

export const STATUS_USAGE = `usage: dgx-spark-vllm status [--stack <name> | --config <file>] [--watch [SECONDS]] [--json]
                             [--identity <key file>] [--api-key-env NAME]
       dgx-spark-vllm status --router URL [--router-metrics URL] [--api-key-env NAME] [--json]

One screen per node, read over SSH: the engine container's state, uptime and restarts, free
unified memory (against the alert threshold), the watchdog's state and restarts; on the head
running/waiting requests, KV cache usage and the recent tokens per second from vLLM's /metrics.
  --stack NAME        read stacks/Pulumi.NAME.yaml (default: 1m)
  --config FILE       a Pulumi stack file, or a cluster object in YAML or JSON
  --watch [SECONDS]   redraw every SECONDS (default 5) until interrupted
  --json              print the status as JSON (with --watch: one JSON line per round)
  --identity FILE     SSH private key file (default: the config's key when readable, else the ssh agent)
  --api-key-env NAME  variable holding the API key for /metrics (default: $VLLM_API_KEY)
  --router URL        vLLM's router (serving.router) instead of the nodes: ready or not, each worker's
                      health as the router's own checks see it; no SSH (docs/router.md)
  --router-metrics URL  its Prometheus listener (the plan's metricsUrl): requests routed per worker
Exit: 0 every node answered and every engine container runs (--router: ready, every worker
healthy), 1 otherwise, 2 bad input.
`;

export const LOGS_USAGE = `usage: dgx-spark-vllm logs [--stack <name> | --config <file>] [--follow] [--since TIME] [--tail N]
                           [--identity <key file>]

Both ranks' engine logs (docker logs over SSH), interleaved by time, each line prefixed with its node.
  --follow            keep streaming until interrupted
  --since TIME        only lines since TIME (docker's --since: 10m, 2h, 2026-12-02T10:00:00)
  --tail N            only the last N lines of each node (default: all; with --follow: 50)
Exit: 0 ok, 1 a node's logs could not be read, 2 bad input.
`;

type Values = { stack?: string; config?: string; json?: boolean; identity?: string; "api-key-env"?: string };

function access(values: Values, env: NodeJS.ProcessEnv, io: CliIo): StackAccess | number {
  try {
    return readStackAccess(values, env, values["api-key-env"]);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      io.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export interface StatusCliHooks {
  readonly ssh?: Pick<SshSettings, "sshCommand" | "extraOptions">;
  /** Stops --watch / --follow (the CLI: SIGINT). */
  readonly signal?: AbortSignal;
  /** Seconds between the two /metrics samples (tests shorten it). */
  readonly sampleS?: number;
}

export async function runStatusCli(
  argv: readonly string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
  hooks: StatusCliHooks = {},
): Promise<number> {
  // `--watch` takes an optional number: accept `--watch`, `--watch 3`, `--watch=3`.
  const args = [...argv];
  let watch: number | undefined;
  const wi = args.findIndex((a) => a === "--watch" || a.startsWith("--watch="));
  if (wi >= 0) {
    const a = args[wi] as string;
    const next = args[wi + 1];
    const text = a.includes("=") ? a.slice(8) : next !== undefined && /^\d+(\.\d+)?$/.test(next) ? next : "5";
    args.splice(wi, a.includes("=") || text !== next ? 1 : 2);
    watch = Number(text);
    if (!(watch > 0)) {
      io.err(`--watch: expected a number of seconds above 0, got '${text}'\n\n${STATUS_USAGE}`);
      return 2;
    }
  }
  const parsed = parseOptions(
    args,
    {
      ...STACK_OPTIONS,
      "api-key-env": { type: "string" },
      router: { type: "string" },
      "router-metrics": { type: "string" },
    },
    STATUS_USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const values = parsed as Values & { router?: string; "router-metrics"?: string };
  if (values.router !== undefined) {
    const key = env[values["api-key-env"] ?? "VLLM_API_KEY"];
    const r = await readRouterStatus(values.router, {
      ...(key ? { apiKey: key } : {}),
      ...(values["router-metrics"] ? { metricsUrl: values["router-metrics"] } : {}),
    });
    io.out(values.json ? `${JSON.stringify(r, null, 2)}\n` : renderRouterStatus(r));
    return r.ready && r.workers.length > 0 && r.workers.every((w) => w.healthy) ? 0 : 1;
  }
  const a = access(values, env, io);
  if (typeof a === "number") return a;
  const opts = {
    ...hooks.ssh,
    ...a.ssh,
    ...(a.apiKey !== undefined ? { apiKey: a.apiKey } : {}),
    ...(hooks.sampleS !== undefined ? { sampleS: hooks.sampleS } : {}),
  };
  for (;;) {
    const statuses = await readStatus(a.plan, opts);
    const at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    if (values.json) io.out(`${JSON.stringify({ at, nodes: statuses }, null, watch ? undefined : 2)}\n`);
    else io.out(`${watch ? "\x1b[H\x1b[2J" : ""}${renderStatus(statuses, a.plan, at)}`);
    const ok = statuses.every((s) => s.reachable && s.container?.state === "running");
    if (!watch || hooks.signal?.aborted) return ok ? 0 : 1;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, (watch as number) * 1000);
      hooks.signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
    if (hooks.signal?.aborted) return ok ? 0 : 1;
  }
}

export async function runLogsCli(
  argv: readonly string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
  hooks: StatusCliHooks = {},
): Promise<number> {
  const parsed = parseOptions(
    argv,
    {
      stack: { type: "string" },
      config: { type: "string" },
      identity: { type: "string" },
      help: { type: "boolean", short: "h" },
      follow: { type: "boolean", short: "f" },
      since: { type: "string" },
      tail: { type: "string" },
    },
    LOGS_USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const values = parsed as Values & { follow?: boolean; since?: string; tail?: string };
  if (values.since !== undefined && !/^[0-9A-Za-z:.+-]{1,40}$/.test(values.since)) {
    io.err(`--since: expected a duration such as 10m or a time such as 2026-12-02T10:00:00, got '${values.since}'\n`);
    return 2;
  }
  let tail: number | undefined;
  if (values.tail !== undefined) {
    tail = Number(values.tail);
    if (!Number.isInteger(tail) || tail < 0) {
      io.err(`--tail: expected a whole number of lines, got '${values.tail}'\n`);
      return 2;
    }
  }
  const a = access(values, env, io);
  if (typeof a === "number") return a;
  const opts = {
    ...hooks.ssh,
    ...a.ssh,
    ...(values.since ? { since: values.since } : {}),
    ...(tail !== undefined ? { tail } : values.follow && !values.since ? { tail: 50 } : {}),
  };
  if (values.follow) {
    return followLogs(a.plan, (l) => io.out(`${l}\n`), { ...opts, ...(hooks.signal ? { signal: hooks.signal } : {}) });
  }
  const { lines, errors } = await readLogs(a.plan, opts);
  if (lines.length > 0) io.out(`${lines.join("\n")}\n`);
  for (const e of errors) io.err(`logs: ${e}\n`);
  return errors.length > 0 ? 1 : 0;
}
