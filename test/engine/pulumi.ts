/**
 * The real `pulumi` CLI for the engine rehearsal: the binaries scripts/engine.sh finds or builds
 * (the CLI, the Node.js language host, the command and docker providers), a local backend and a
 * PULUMI_HOME in the run's folder, the passphrase secrets provider, and an ssh-agent holding the
 * lab's key for the docker provider's `ssh://` connections. Every `pulumi` runs inside the lab's
 * network namespace (`ip netns exec`), the only place the simulated Sparks' management addresses
 * are reachable; the engine and its plugins inherit it.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse, stringify } from "yaml";

export const REPO_ROOT = resolve(__dirname, "..", "..", "..");
export const IN_CI = process.env.CI === "true";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * The folder holding `pulumi` and its three plugins (scripts/engine.sh, which builds them once per
 * machine when Go and ../shared/engine are there), or why there is none.
 */
export function findEngine(): { dir?: string; why?: string } {
  const r = spawnSync("bash", [join(REPO_ROOT, "scripts", "engine.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60 * 60_000,
  });
  const out = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (r.status === 0 && out && existsSync(join(out, "pulumi"))) return { dir: out };
  const err = (r.stderr ?? "").trim().split("\n").filter(Boolean);
  return { why: err[err.length - 1] ?? `scripts/engine.sh exited ${r.status}` };
}

/** One Pulumi project folder of the run: a Pulumi.yaml and the repository's dist/ and node_modules. */
export interface Project {
  readonly dir: string;
  /** Where the stack files go (`stacks/` for the repository's Pulumi.yaml). */
  readonly stacksDir: string;
}

/** The repository's own project: its Pulumi.yaml as it is, next to its compiled program. */
export function repoProject(work: string): Project {
  return project(work, "repo", readFileSync(join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
}

/** A project whose program is `main` (relative to the repository, e.g. dist/test/engine/program.js). */
export function testProject(work: string, name: string, main: string): Project {
  const yaml = stringify({
    name: "dgx-spark-vllm",
    description: "engine rehearsal test program",
    runtime: { name: "nodejs", options: { typescript: false } },
    main,
    stackConfigDir: "stacks",
  });
  return project(work, name, yaml);
}

function project(work: string, name: string, pulumiYaml: string): Project {
  const dir = join(work, name);
  mkdirSync(join(dir, "stacks"), { recursive: true });
  writeFileSync(join(dir, "Pulumi.yaml"), pulumiYaml);
  for (const l of ["dist", "node_modules", "package.json"]) symlinkSync(join(REPO_ROOT, l), join(dir, l));
  const stacksDir = join(dir, parse(pulumiYaml).stackConfigDir ?? ".");
  return { dir, stacksDir };
}

export class PulumiCli {
  readonly home: string;
  readonly state: string;
  readonly passphrase = randomBytes(18).toString("hex");
  private agentPid: number | undefined;
  readonly agentSock: string;

  constructor(
    readonly engineDir: string,
    readonly labNs: string,
    readonly work: string,
    privateKey: string,
  ) {
    this.home = join(work, "pulumi-home");
    this.state = join(work, "state");
    mkdirSync(this.home, { recursive: true });
    mkdirSync(this.state, { recursive: true });
    // The docker provider shells out to `ssh`; like a user's, it finds the key in an agent.
    this.agentSock = join(work, "agent.sock");
    const a = spawnSync("ssh-agent", ["-s", "-a", this.agentSock], { encoding: "utf8" });
    const pid = /SSH_AGENT_PID=(\d+)/.exec(a.stdout ?? "");
    if (a.status !== 0 || !pid) throw new Error(`ssh-agent did not start: ${a.stderr}`);
    this.agentPid = Number(pid[1]);
    const keyFile = join(work, "agent-key");
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    const add = spawnSync("ssh-add", [keyFile], {
      encoding: "utf8",
      env: { ...process.env, SSH_AUTH_SOCK: this.agentSock },
    });
    spawnSync("rm", ["-f", keyFile]);
    if (add.status !== 0) throw new Error(`ssh-add failed: ${add.stderr}`);
  }

  env(): NodeJS.ProcessEnv {
    return {
      PATH: `${this.engineDir}:${dirname(process.execPath)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: process.env.HOME ?? "/root",
      PULUMI_HOME: this.home,
      PULUMI_BACKEND_URL: `file://${this.state}`,
      PULUMI_CONFIG_PASSPHRASE: this.passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      SSH_AUTH_SOCK: this.agentSock,
      NO_COLOR: "1",
    };
  }

  /**
   * `pulumi ARGS` in a project folder, inside the lab's network namespace. `stderrFile`: stderr
   * goes there too (the engine's own log with `--logtostderr`).
   */
  run(
    project: Project,
    args: readonly string[],
    opts: { input?: string; timeoutMs?: number; stderrFile?: string } = {},
  ): Promise<CliRun> {
    const t0 = Date.now();
    return new Promise((resolveRun) => {
      const p = spawn("ip", ["netns", "exec", this.labNs, "pulumi", ...args], {
        cwd: project.dir,
        env: this.env(),
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      p.stdout.on("data", (d: Buffer) => (out += d));
      p.stderr.on("data", (d: Buffer) => (err += d));
      const timer = setTimeout(() => p.kill("SIGTERM"), opts.timeoutMs ?? 15 * 60_000);
      p.on("close", (code) => {
        clearTimeout(timer);
        if (opts.stderrFile) writeFileSync(opts.stderrFile, err);
        resolveRun({ code: code ?? -1, stdout: out, stderr: err, ms: Date.now() - t0 });
      });
      p.stdin.end(opts.input ?? "");
    });
  }

  /** Like run, but throws with the output unless it exits 0. */
  async must(project: Project, args: readonly string[], opts: { input?: string; stderrFile?: string } = {}) {
    const r = await this.run(project, args, opts);
    if (r.code !== 0)
      throw new Error(
        `pulumi ${args.join(" ")} exited ${r.code}:\n${r.stdout.slice(-6000)}\n${opts.stderrFile ? "(stderr in a file)" : r.stderr.slice(-4000)}`,
      );
    return r;
  }

  /** A new stack whose config is `config` (namespace dgx-spark-vllm) and the secrets, set with `config set --secret`. */
  async initStack(
    project: Project,
    stack: string,
    config: Record<string, unknown>,
    secrets: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.must(project, ["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"]);
    const file = join(project.stacksDir, `Pulumi.${stack}.yaml`);
    const doc = (existsSync(file) ? parse(readFileSync(file, "utf8")) : null) ?? {};
    doc.config = { ...(doc.config ?? {}) };
    for (const [k, v] of Object.entries(config)) doc.config[`dgx-spark-vllm:${k}`] = v;
    writeFileSync(file, stringify(doc));
    for (const [k, v] of Object.entries(secrets))
      await this.must(project, ["config", "set", "--secret", "--stack", stack, k], { input: v });
  }

  /** The stack file's text. */
  stackFile(project: Project, stack: string): string {
    return readFileSync(join(project.stacksDir, `Pulumi.${stack}.yaml`), "utf8");
  }

  stop(): void {
    if (this.agentPid !== undefined) {
      try {
        process.kill(this.agentPid, "SIGTERM");
      } catch {
        /* gone */
      }
      this.agentPid = undefined;
    }
  }
}

/** One step of `pulumi preview --json` / an engine event: operation and the resource's type and name. */
export interface Step {
  readonly op: string;
  readonly type: string;
  readonly name: string;
}

/** The steps of `pulumi preview --json` output. */
export function previewSteps(json: string): Step[] {
  const doc = JSON.parse(json) as { steps?: { op: string; urn: string }[] };
  return (doc.steps ?? []).map((s) => ({ op: s.op, ...urnParts(s.urn) }));
}

/** Type and name from a URN (`urn:pulumi:stack::project::parent$type::name`). */
export function urnParts(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const types = (parts[2] ?? "").split("$");
  return { type: types[types.length - 1] ?? "", name: parts.slice(3).join("::") };
}

/**
 * The resource operations of an update, from what `pulumi up --json` prints (its engine events,
 * one JSON object per line): each resource's step as it starts (`resourcePreEvent`) and as it
 * finishes (`resOutputsEvent`), each failed one (`resOpFailedEvent`), in order, and the
 * diagnostics (`diagnosticEvent`: severity and message, the lines a user reads).
 */
export function eventSteps(text: string): {
  done: Step[];
  failed: Step[];
  pre: Step[];
  diagnostics: { severity: string; message: string; urn: string }[];
} {
  const done: Step[] = [];
  const failed: Step[] = [];
  const pre: Step[] = [];
  const diagnostics: { severity: string; message: string; urn: string }[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    let e: Record<string, any>;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    for (const [kind, list] of [
      ["resOutputsEvent", done],
      ["resOpFailedEvent", failed],
      ["resourcePreEvent", pre],
    ] as const) {
      const m = e[kind]?.metadata as { op: string; urn: string } | undefined;
      if (m) list.push({ op: m.op, ...urnParts(m.urn) });
    }
    const d = e.diagnosticEvent as { severity?: string; message?: string; urn?: string } | undefined;
    if (d) diagnostics.push({ severity: d.severity ?? "", message: d.message ?? "", urn: d.urn ?? "" });
  }
  return { done, failed, pre, diagnostics };
}
