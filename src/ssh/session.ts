/**
 * Running commands on nodes over SSH with the local OpenSSH client, as the components' connection
 * says (user, host, port, the stack's private key, the pinned host key), with the options of
 * options.ts. Used by `doctor`, the gate's log and memory samplers, and the host rehearsal.
 *
 * A private key (text from the stack) is written to a file (mode 0600) in a private temporary
 * folder (mode 0700) made on first use and removed by close(); it is never put on a command line
 * or in a log. The remote command is one string for the login shell (as remote.Command sends it);
 * secrets go on stdin.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execCommand, type ExecResult } from "./exec";
import { sshDestination, sshOptions } from "./options";

export interface SshSettings {
  /** argv prefix that runs ssh (default ["ssh"]); tests run it inside a network namespace or stand it in. */
  readonly sshCommand?: readonly string[];
  /** Private key text per node name (from the stack); a node without one uses the agent / ssh config. */
  readonly privateKeys?: Readonly<Record<string, string>>;
  /** A key file to use for every node (`--identity`); takes the place of `privateKeys`. */
  readonly identityFile?: string;
  /** Seconds to wait for the connection. @default 10 */
  readonly connectTimeoutS?: number;
  /** Seconds for a whole command, unless exec is given its own. @default 90 */
  readonly timeoutS?: number;
  /** Extra ssh options, first on the command line (e.g. ["-F", "/dev/null"]). */
  readonly extraOptions?: readonly string[];
}

/** One SSH connection as a component's `connection` says: host, port, user, optional key text and pinned host key. */
export interface SshConnection {
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly privateKey?: string;
  readonly hostKey?: string;
}

/** A node as the plan has it (NodePlan fits). */
export interface SshNode {
  readonly name: string;
  readonly ssh: { readonly host: string; readonly port: number; readonly user: string; readonly hostKey?: string };
}

/** Per-command limits. */
export interface ExecLimits {
  readonly timeoutMs?: number;
  /** Cap on each of stdout and stderr kept, in characters. @default 64 MiB */
  readonly maxBytes?: number;
}

export class SshSession {
  private dir: string | undefined;

  constructor(private readonly settings: SshSettings = {}) {}

  /** A private file holding `text` (0600), named by a hash so each key is written once. */
  private privateFile(prefix: string, text: string): string {
    this.dir ??= mkdtempSync(join(tmpdir(), "dgx-spark-vllm-ssh-"));
    const f = join(this.dir, `${prefix}-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`);
    if (!existsSync(f)) writeFileSync(f, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });
    return f;
  }

  /** The connection of a node of the plan, with its key from `privateKeys`. */
  connectionOf(node: SshNode): SshConnection {
    const key = this.settings.privateKeys?.[node.name];
    return {
      host: node.ssh.host,
      port: node.ssh.port,
      user: node.ssh.user,
      ...(key !== undefined ? { privateKey: key } : {}),
      ...(node.ssh.hostKey ? { hostKey: node.ssh.hostKey } : {}),
    };
  }

  /** The ssh argv for a connection, up to `--` (the remote command follows). For reports and tests. */
  argvFor(c: SshConnection): string[] {
    const s = this.settings;
    // `--identity` takes the place of the stack's key: then the key is not written anywhere.
    const identityFile =
      s.identityFile ?? (c.privateKey !== undefined ? this.privateFile("key", c.privateKey) : undefined);
    const target = { port: c.port ?? 22, ...(c.hostKey ? { hostKey: c.hostKey } : {}) };
    const options = sshOptions(target, {
      ...(s.connectTimeoutS !== undefined ? { connectTimeoutS: s.connectTimeoutS } : {}),
      ...(identityFile ? { identityFile } : {}),
    });
    return [...(s.sshCommand ?? ["ssh"]), ...(s.extraOptions ?? []), ...options, sshDestination(c), "--"];
  }

  argv(node: SshNode): string[] {
    return this.argvFor(this.connectionOf(node));
  }

  /**
   * Run `command` as the remote command, as remote.Command sends it (one string to the login
   * shell, no secrets in it); `stdin` (secrets) goes on the pipe as given. Never throws.
   */
  exec(c: SshConnection, command: string, stdin = "", limits: ExecLimits = {}): Promise<ExecResult> {
    const [cmd, ...args] = this.argvFor(c);
    const timeoutMs = limits.timeoutMs ?? (this.settings.timeoutS ?? 90) * 1000;
    return execCommand(cmd as string, [...args, command], timeoutMs, limits.maxBytes ?? 64 * 1024 * 1024, stdin);
  }

  /** Run `script` on a node of the plan; `stdinLine` (the API key, or nothing) is its stdin. */
  run(node: SshNode, script: string, stdinLine = "", limits: ExecLimits = {}): Promise<ExecResult> {
    return this.exec(this.connectionOf(node), script, `${stdinLine}\n`, limits);
  }

  /** Remove the key files. The session can still be used (they are written again). */
  close(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
