/**
 * The lifecycle rehearsal's harness: a real Docker engine, a stand-in image built locally from
 * test/lifecycle/standin/ (no registry: the Node binary and its shared libraries, `docker import`ed), and
 * the plan's own rendered docker run lines, scripts and watchdog.
 *
 * What differs from a real deployment, and only this:
 *  - the image is the stand-in (set through the config, `image: { source: prebuilt, ref }`, so
 *    every rendered line names it; nothing is swapped in the text);
 *  - `--gpus all` is removed from the docker run argv (`withoutGpuFlags`: no NVIDIA runtime here);
 *  - both "nodes" are this machine: the data plane is 127.0.0.1/127.0.0.2 (loopback, /30), each
 *    node has its own cache folder, and the scripts' node access block (the one seam,
 *    src/plan/access.ts) runs every command locally;
 *  - scripts that start with the host PROLOGUE get a scratch undo journal instead of
 *    /var/lib/dgx-spark-vllm/journal, and the watchdog a scratch state folder
 *    (DGX_SPARK_VLLM_WATCHDOG_DIR);
 *  - the secrets-file step (the rendered script, stdin the rehearsal's API key) has a scratch
 *    journal too; the secrets file itself is where a Spark has it, under
 *    /var/lib/dgx-spark-vllm/secrets/<container> on this machine (the container names carry the
 *    run's id), and the step's own delete removes it and the folders it made at cleanup;
 *  - the drop-caches sidecar's `sh` is the stand-in's (test/lifecycle/standin/sh-standin.js): it logs the
 *    loop it was given and never writes /proc/sys/vm/drop_caches on this machine.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { loadClusterConfig } from "../../src/config/load";
import { planCluster } from "../../src/plan/cluster";
import { dockerRunArgv } from "../../src/plan/container";
import type { NodeAccess } from "../../src/plan/access";
import { secretsFileStdin, secretsFileStep } from "../../src/plan/secrets-file";
import { dropCachesName } from "../../src/plan/service";
import type { ClusterPlan, NodePlan } from "../../src/plan/types";

export const REPO_ROOT = resolve(__dirname, "..", "..", "..");
export const STANDIN_DIR = join(REPO_ROOT, "test", "lifecycle", "standin");
export const API_KEY = ["rehearsal", "api", "key", "0123456789abcdef"].join("-");
export const IN_CI = process.env.CI === "true";

// ---------------------------------------------------------------- processes

export interface Run {
  status: number | null;
  out: string;
  err: string;
}

export function sh(
  cmd: string,
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Run {
  const r = spawnSync(cmd, args as string[], {
    encoding: "utf8",
    input: opts.input ?? "",
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { status: r.status, out: r.stdout ?? "", err: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

export function docker(...args: string[]): Run {
  return sh("docker", args);
}

/** Run a bash script (as text) asynchronously; resolves with its status and output. */
export function bashScript(text: string, stdin = "", env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolveRun) => {
    const p = spawn("bash", ["-c", text], { stdio: ["pipe", "pipe", "pipe"], env });
    let out = "",
      err = "";
    p.stdout.on("data", (d: Buffer) => (out += d));
    p.stderr.on("data", (d: Buffer) => (err += d));
    p.on("close", (status) => resolveRun({ status, out, err }));
    p.stdin.end(stdin);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves with "timeout" after `ms` without keeping the process alive (for Promise.race deadlines). */
export const deadline = (ms: number) => new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms).unref());

/** Poll until `f` returns a truthy value, or throw with `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v as T;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------- docker engine

/** Whether a Docker engine answers. In CI a missing engine is a failure, not a skip. */
export function dockerEngine(): { ok: boolean; why: string } {
  const r = sh("docker", ["version", "--format", "{{.Server.Version}}"], { timeoutMs: 20_000 });
  if (r.status === 0 && r.out.trim()) return { ok: true, why: `Docker engine ${r.out.trim()}` };
  return {
    ok: false,
    why: `no Docker engine answers (docker version: ${(r.err || r.out).trim().split("\n")[0] ?? "no output"})`,
  };
}

/** Skip reason outside CI when there is no engine; undefined when the rehearsal must run. */
export function skipWithoutDocker(): string | undefined {
  const e = dockerEngine();
  if (e.ok || IN_CI) return undefined;
  return `lifecycle rehearsal skipped: ${e.why}; start dockerd to run it (in CI, CI=true, this fails instead)`;
}

// ---------------------------------------------------------------- the stand-in image

function lddPaths(binary: string): string[] {
  const r = sh("ldd", [binary]);
  if (r.status !== 0) throw new Error(`ldd ${binary} failed: ${r.err}`);
  const out: string[] = [];
  for (const line of r.out.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/**
 * Build (or reuse) the stand-in image: this Node binary and this machine's bash, the shared libraries `ldd` lists,
 * `vllm` = test/lifecycle/standin/vllm-standin.js, `sh` = test/lifecycle/standin/sh-standin.js. Tagged by a hash
 * of everything that goes in, so a rerun with nothing changed reuses it.
 */
export function ensureStandinImage(): string {
  const node = realpathSync(process.execPath);
  // A real bash: the plan's containers with secrets run `bash -c <export the secrets file> ... exec "$@"`.
  const bash = realpathSync(sh("bash", ["-c", "command -v bash"]).out.trim() || "/bin/bash");
  const libs = [...new Set([...lddPaths(node), ...lddPaths(bash)])];
  const sources = ["vllm-standin.js", "sh-standin.js"].map((f) => readFileSync(join(STANDIN_DIR, f)));
  const h = createHash("sha256");
  for (const s of sources) h.update(s);
  for (const f of [node, bash, ...libs]) {
    const st = statSync(f);
    h.update(`${f}:${st.size}:${st.mtimeMs}\n`);
  }
  const content = h.digest("hex").slice(0, 12);
  // This run's own tag. Another run's image with the same content is reused by adding our tag to
  // it (never by sharing its tag), and `removeStandinImage` removes only our tag: the engine drops
  // the image when no run's tag is left on it, and never while another run still uses it.
  const tag = `dgx-spark-vllm-standin:${content}-${RUN_ID}`;
  if (docker("image", "inspect", tag).status === 0) return tag;
  const same = docker("images", "--filter", "label=dgx-spark-vllm.standin=true", "--format", "{{.Repository}}:{{.Tag}}")
    .out.split("\n")
    .find((t) => t.startsWith(`dgx-spark-vllm-standin:${content}-`));
  if (same && docker("tag", same, tag).status === 0) return tag;
  const root = mkdtempSync(join(tmpdir(), "dsv-standin-root-"));
  try {
    const put = (src: string, dest: string, mode = 0o755) => {
      const to = join(root, dest);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(realpathSync(src), to);
      chmodSync(to, mode);
    };
    put(node, "usr/bin/node");
    put(bash, "bin/bash");
    for (const l of libs) put(l, l.replace(/^\//, ""));
    put(join(STANDIN_DIR, "vllm-standin.js"), "usr/local/bin/vllm");
    put(join(STANDIN_DIR, "sh-standin.js"), "bin/sh");
    for (const d of ["tmp", "root/.cache", "etc"]) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, "tmp"), 0o1777);
    writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    const tar = join(root, "..", `${root.split("/").pop()}.tar`);
    const t = sh("tar", ["-C", root, "-cf", tar, "."]);
    if (t.status !== 0) throw new Error(`tar failed: ${t.err}`);
    const imp = sh(
      "docker",
      [
        "import",
        "--change",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "--change",
        "LABEL dgx-spark-vllm.standin=true",
        tar,
        tag,
      ],
      { timeoutMs: 300_000 },
    );
    rmSync(tar, { force: true });
    if (imp.status !== 0) throw new Error(`docker import of the stand-in image failed: ${imp.err}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tag;
}

/** Remove this run's tag of the stand-in image (the image itself goes with the last run's tag). */
export function removeStandinImage(tag: string): void {
  if (tag.endsWith(`-${RUN_ID}`)) docker("image", "rm", tag);
}

// ---------------------------------------------------------------- the plan

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolvePort(p));
    });
  });
}

/**
 * This run's own id: every name the rehearsal gives the Docker engine (node names, and so the
 * container and sidecar names; the stand-in image's tag) carries it, so two runs on one engine
 * (two checkouts, or CI beside a developer) never touch each other's containers or images.
 */
export const RUN_ID = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
export const HEAD = `rh-${RUN_ID}-head`;
export const WORKER = `rh-${RUN_ID}-worker`;

/** Rehearsal timing: small, so faults resolve within seconds (production defaults are in the schema). */
export const REHEARSAL_WATCHDOG = {
  probeIntervalSeconds: 1,
  probeTimeoutSeconds: 2,
  failuresBeforeRestart: 2,
  bootTimeoutSeconds: 15,
  minRestartIntervalSeconds: 2,
  maxBackoffSeconds: 4,
  maxRestartsPerHour: 3,
  stopTimeoutSeconds: 1,
  minFreeGiB: 0.25,
};

export interface Rehearsal {
  plan: ClusterPlan;
  image: string;
  dir: string;
  head: NodePlan;
  worker: NodePlan;
  /** Host folder mounted at /root/.cache/vllm in a node's container (the stand-in's control files). */
  vllmCache(node: string): string;
  control(node: string, words: string): void;
  cleanup(): void;
}

/** A two-node cluster on this machine, planned by the library from a config like any other. */
export async function rehearsalPlan(
  image: string,
  watchdog: Partial<typeof REHEARSAL_WATCHDOG> = {},
): Promise<Rehearsal> {
  const dir = mkdtempSync(join(tmpdir(), "dsv-lifecycle-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  let masterPort = await freePort();
  while (masterPort === port) masterPort = await freePort();
  const node = (name: string, role: string, addr: string) => ({
    name,
    role,
    ssh: { host: `${name}.rehearsal` },
    cacheRoot: join(dir, name),
    dataPlane: [{ netdev: "lo", hca: "rehearsal_hca0", address: addr, prefix: 30 }],
  });
  const input = {
    ssh: { user: "root", privateKey: "rehearsal-not-used" },
    nodes: [node(HEAD, "head", "127.0.0.1"), node(WORKER, "worker", "127.0.0.2")],
    link: { masterPort },
    image: { source: "prebuilt", ref: image },
    model: { prefetch: false },
    serving: { profile: "1m", port, apiKey: API_KEY, watchdog: { ...REHEARSAL_WATCHDOG, ...watchdog } },
  };
  const { config, warnings } = loadClusterConfig(input, "deploy");
  const plan = planCluster(config, warnings);
  for (const n of plan.nodes) {
    for (const p of Object.values(n.cache)) if (p !== n.cache.root) mkdirSync(p, { recursive: true, mode: 0o777 });
    writeFileSync(join(n.cache.vllm, "standin-control"), "", { mode: 0o666 });
    chmodSync(join(n.cache.vllm, "standin-control"), 0o666);
  }
  const byName = (name: string) => plan.nodes.find((n) => n.name === name) as NodePlan;
  return {
    plan,
    image,
    dir,
    head: byName(HEAD),
    worker: byName(WORKER),
    vllmCache: (name) => byName(name).cache.vllm,
    control: (name, words) =>
      writeFileSync(join(byName(name).cache.vllm, "standin-control"), words ? `${words}\n` : ""),
    cleanup: () => {
      removeContainers(plan);
      for (const n of plan.nodes) removeSecretsFile(n);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every container the rehearsal can have made for `plan` (engine ranks and sidecars), by exact name. */
export function containerNames(plan: ClusterPlan): string[] {
  return plan.nodes.flatMap((n) => [n.container.name, dropCachesName(n, plan.names)]);
}

export function removeContainers(plan: ClusterPlan): void {
  docker("rm", "-f", ...containerNames(plan));
}

// ---------------------------------------------------------------- rendering for this machine

/** What this machine's Docker engine cannot do that a Spark does (probed once per run). */
export interface MachineLimits {
  /** `--privileged` works (it needs every capability; sandboxes without CAP_SYS_RESOURCE refuse it). */
  privileged: boolean;
  /** The hard open-files limit a container can get here. */
  nofile: number;
}

let limitsCache: MachineLimits | undefined;
export function machineLimits(image: string): MachineLimits {
  if (limitsCache) return limitsCache;
  const r = sh("bash", ["-c", "ulimit -Hn"]);
  const n = r.out.trim();
  const priv = docker("run", "--rm", "--privileged", "--entrypoint", "/usr/bin/node", image, "-e", "0");
  limitsCache = { privileged: priv.status === 0, nofile: n === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(n) };
  return limitsCache;
}

/**
 * THE one adaptation of a rendered `docker run` argv to this machine, and nothing else:
 *  - drop the GPU request (`--gpus <value>`, also `--runtime nvidia`): no NVIDIA runtime here;
 *  - drop `--privileged` only when this engine cannot grant it (see MachineLimits);
 *  - clamp `--ulimit nofile=S:H` to this machine's hard limit when that is lower.
 * Returns the argv and every change made, so a test can assert nothing else differs. Used for the
 * ranks the test starts and, through the `docker` shim on the node access PATH, for every
 * `docker run` the rendered scripts make (the drop-caches sidecar).
 */
export function adaptForThisMachine(
  argv: readonly string[],
  limits: MachineLimits,
): { argv: string[]; changes: string[] } {
  const out: string[] = [];
  const changes: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    if ((a === "--gpus" || (a === "--runtime" && next === "nvidia")) && next !== undefined) {
      changes.push(`removed ${a} ${next}`);
      i++;
    } else if (a.startsWith("--gpus=")) {
      changes.push(`removed ${a}`);
    } else if (a === "--privileged" && !limits.privileged) {
      changes.push("removed --privileged");
    } else if (a === "--ulimit" && next !== undefined && /^nofile=\d+:\d+$/.test(next)) {
      const [soft, hard] = next.slice("nofile=".length).split(":").map(Number) as [number, number];
      const fixed = `nofile=${Math.min(soft, limits.nofile)}:${Math.min(hard, limits.nofile)}`;
      if (fixed !== next) changes.push(`--ulimit ${next} -> ${fixed}`);
      out.push(a, fixed);
      i++;
    } else out.push(a);
  }
  return { argv: out, changes };
}

/** A PROLOGUE script with a scratch undo journal (no /var/lib/dgx-spark-vllm on this machine, no sudo). */
export function withScratchJournal(text: string, dir: string): string {
  const j = join(dir, "journal");
  mkdirSync(j, { recursive: true });
  return text.replace(/^J=.*$/m, `J=${j}`).replace(/^\$SUDO mkdir -p "\$J"$/m, ":");
}

/**
 * A `docker` shim for the node access PATH: `docker run ...` goes through adaptForThisMachine (each
 * call and its changes are appended to `<dir>/docker-runs.jsonl`), everything else is passed
 * through unchanged to the real docker.
 */
export function writeDockerShim(dir: string, limits: MachineLimits): string {
  const real = sh("bash", ["-c", "command -v docker"]).out.trim();
  if (!real) throw new Error("docker is not on PATH");
  const bin = join(dir, "shim-bin");
  mkdirSync(bin, { recursive: true });
  const shim = [
    `#!${process.execPath}`,
    `const { adaptForThisMachine } = require(${JSON.stringify(__filename.replace(/\.ts$/, ".js"))});`,
    "const args = process.argv.slice(2);",
    "let argv = args;",
    "if (args[0] === 'run') {",
    `  const a = adaptForThisMachine(['docker', ...args], ${JSON.stringify(limits)});`,
    "  argv = a.argv.slice(1);",
    `  require('fs').appendFileSync(${JSON.stringify(join(dir, "docker-runs.jsonl"))}, JSON.stringify({ rendered: ['docker', ...args], changes: a.changes }) + '\\n');`,
    "}",
    `const r = require('child_process').spawnSync(${JSON.stringify(real)}, argv, { stdio: 'inherit' });`,
    "process.exit(r.status === null ? 1 : r.status);",
  ].join("\n");
  writeFileSync(join(bin, "docker"), `${shim}\n`, { mode: 0o755 });
  return bin;
}

/** Every `docker run` the rendered scripts made through the shim, with the changes applied. */
export function shimRuns(dir: string): { rendered: string[]; changes: string[] }[] {
  try {
    return readFileSync(join(dir, "docker-runs.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** Node access for the rehearsal: every node is this machine, with the docker shim first on PATH. */
export function rehearsalAccess(plan: ClusterPlan, shimBin: string): NodeAccess {
  return Object.fromEntries(
    plan.nodes.map((n) => [n.name, ["env", `PATH=${shimBin}:${process.env.PATH ?? "/usr/bin:/bin"}`, "bash", "-c"]]),
  );
}

/** The secrets the rehearsal's containers get (no HF token: the stand-in downloads nothing). */
export const REHEARSAL_SECRETS: Readonly<Record<string, string>> = { VLLM_API_KEY: API_KEY, HF_TOKEN: "" };

/**
 * The scratch journal of a node's secrets-file step: the rehearsal's folder (rehearsalPlan puts
 * every node's cache root in it).
 */
function secretsJournalDir(n: NodePlan): string {
  return dirname(n.cache.root);
}

/** Run a node's secrets-file step as `pulumi up` does (the values on stdin only); undefined when it has no secret. */
export function writeSecretsFile(
  n: NodePlan,
  values: Readonly<Record<string, string>> = REHEARSAL_SECRETS,
): Run | undefined {
  const step = secretsFileStep(n.container);
  if (!step) return undefined;
  const stdin = secretsFileStdin(
    n.container.secretEnv,
    n.container.secretEnv.map((k) => values[k] ?? ""),
  );
  return sh("bash", ["-c", withScratchJournal(step.create, secretsJournalDir(n))], { input: stdin });
}

/** The secrets-file step's delete (the file and the folders its create made). */
export function removeSecretsFile(n: NodePlan): Run | undefined {
  const step = secretsFileStep(n.container);
  if (!step) return undefined;
  return sh("bash", ["-c", withScratchJournal(step.delete, secretsJournalDir(n))]);
}

/**
 * Start a node's rank exactly as the plan renders it (adapted to this machine): first its
 * secrets file, written by the rendered step from stdin, as `pulumi up` does; then `docker run`.
 */
export function runRank(n: NodePlan, limits: MachineLimits, extraEnv: NodeJS.ProcessEnv = {}): Run {
  const w = writeSecretsFile(n);
  if (w && w.status !== 0) return w;
  const { argv } = adaptForThisMachine(dockerRunArgv(n.container), limits);
  return sh(argv[0] as string, argv.slice(1), { env: { ...process.env, ...extraEnv } });
}

// ---------------------------------------------------------------- observing

export interface ContainerState {
  status: string;
  startedAt: number;
  exitCode: number;
}

export function state(name: string): ContainerState | undefined {
  const r = docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}}", name);
  if (r.status !== 0) return undefined;
  const [status, exitCode, started] = r.out.trim().split(" ");
  return { status: status as string, exitCode: Number(exitCode), startedAt: Date.parse(started as string) };
}

export function sidecarsPresent(plan: ClusterPlan): string[] {
  const r = docker("ps", "-a", "--format", "{{.Names}}");
  const mine = new Set(plan.nodes.map((n) => dropCachesName(n, plan.names)));
  return r.out.split("\n").filter((n) => mine.has(n));
}

export function logsOf(name: string): string {
  const r = docker("logs", name);
  return r.out + r.err;
}

export async function api(
  plan: ClusterPlan,
  path: string,
  init: { method?: string; body?: unknown; key?: string | null; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const key = init.key === undefined ? API_KEY : init.key;
  if (key) headers.authorization = `Bearer ${key}`;
  const r = await fetch(`http://127.0.0.1:${plan.cluster.port}${path}`, {
    method: init.method ?? (init.body ? "POST" : "GET"),
    headers,
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
  });
  return { status: r.status, text: await r.text() };
}

/** The served model answers: /v1/models reports the profile's max_model_len and a completion returns. */
export async function serving(plan: ClusterPlan): Promise<boolean> {
  try {
    const m = await api(plan, "/v1/models", { timeoutMs: 2000 });
    if (m.status !== 200) return false;
    const entry = (JSON.parse(m.text).data as { id: string; max_model_len: number }[]).find(
      (d) => d.id === plan.model.servedName,
    );
    if (entry?.max_model_len !== plan.profile.maxModelLen) return false;
    const c = await api(plan, "/v1/chat/completions", {
      body: { model: plan.model.servedName, messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
      timeoutMs: 2000,
    });
    return c.status === 200 && JSON.parse(c.text).choices?.length === 1;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the watchdog process

export class WatchdogProcess {
  readonly proc: ChildProcess;
  out = "";
  exit: Promise<number | null>;
  constructor(scriptPath: string, stateDir: string) {
    this.proc = spawn("bash", [scriptPath, "run"], {
      env: { ...process.env, DGX_SPARK_VLLM_WATCHDOG_DIR: stateDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const take = (d: Buffer) => {
      const before = this.out.split("\n").length - 1;
      this.out += d;
      const all = this.out.split("\n");
      for (let i = before; i < all.length - 1; i++) this.arrivals.push({ line: all[i] as string, at: Date.now() });
    };
    this.proc.stdout?.on("data", take);
    this.proc.stderr?.on("data", take);
    this.exit = new Promise((r) => this.proc.on("close", (code) => r(code)));
  }
  /** Complete lines with the time this process received them. */
  readonly arrivals: { line: string; at: number }[] = [];
  timed(): { line: string; at: number }[] {
    return this.arrivals;
  }
  lines(): string[] {
    return this.out.split("\n").filter(Boolean);
  }
  async waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    return until(
      `watchdog log line ${re} (log so far:\n${this.out})`,
      () => this.lines().find((l) => re.test(l)),
      timeoutMs,
    );
  }
  async stop(): Promise<void> {
    if (process.env.DSV_LIFECYCLE_VERBOSE) {
      const t0 = this.arrivals[0]?.at ?? 0;
      for (const a of this.arrivals) console.log(`# +${((a.at - t0) / 1000).toFixed(1)}s ${a.line}`);
    }
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
    await Promise.race([this.exit, deadline(5000)]);
  }
}
