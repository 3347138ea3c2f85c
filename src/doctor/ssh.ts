/**
 * How `doctor` (and the host rehearsal, standing in for the command provider) reaches a node: the
 * same connection settings as the components (user, host, port, the stack's private key, the
 * pinned host key) with the local OpenSSH client in BatchMode. The
 * key and the pinned host key go into files in a private temporary folder (mode 0600), never on a
 * command line; the folder is removed afterwards. Failures are classified for the report.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodePlan } from "../plan/types";
import { execCommand, type ExecResult } from "../gate/ssh";

export type SshFailureKind = "auth" | "host-key-changed" | "host-key-unknown" | "timeout" | "refused" | "no-route" | "name" | "other";

export interface SshFailure {
  readonly kind: SshFailureKind;
  readonly detail: string;
  readonly fix: string;
}

export interface SshSettings {
  /** argv prefix that runs ssh (default ["ssh"]); tests run it inside a network namespace. */
  readonly sshCommand?: readonly string[];
  /** Private key text per node name (from the stack); a node without one uses the agent / ssh config. */
  readonly privateKeys?: Readonly<Record<string, string>>;
  /** A key file to use (`--identity`). */
  readonly identityFile?: string;
  /** Seconds to wait for the connection. @default 10 */
  readonly connectTimeoutS?: number;
  /** Seconds for the whole probe. @default 90 */
  readonly timeoutS?: number;
  /** Extra ssh options (e.g. ["-F", "/dev/null"]). */
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

export class SshSession {
  private readonly dir: string;

  constructor(private readonly settings: SshSettings) {
    this.dir = mkdtempSync(join(tmpdir(), "dgx-spark-vllm-ssh-"));
  }

  /** A private file holding `text` (0600), named by a hash so each key is written once. */
  private privateFile(prefix: string, text: string): string {
    const f = join(this.dir, `${prefix}-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`);
    if (!existsSync(f)) writeFileSync(f, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });
    return f;
  }

  /** The connection of a node of the plan, with its key from `privateKeys`. */
  connectionOf(node: NodePlan): SshConnection {
    const key = this.settings.privateKeys?.[node.name];
    return { host: node.ssh.host, port: node.ssh.port, user: node.ssh.user, ...(key !== undefined ? { privateKey: key } : {}), ...(node.ssh.hostKey ? { hostKey: node.ssh.hostKey } : {}) };
  }

  /** The ssh argv for a connection (without the remote command). Exported for the report and tests. */
  argvFor(c: SshConnection): string[] {
    const s = this.settings;
    const args = [...(s.sshCommand ?? ["ssh"]), ...(s.extraOptions ?? []), "-o", "BatchMode=yes", "-o", `ConnectTimeout=${s.connectTimeoutS ?? 10}`, "-o", "LogLevel=ERROR", "-p", String(c.port ?? 22)];
    const key = s.identityFile ?? (c.privateKey !== undefined ? this.privateFile("key", c.privateKey) : undefined);
    if (key) args.push("-o", "IdentitiesOnly=yes", "-i", key);
    if (c.hostKey) {
      const kh = this.privateFile("known_hosts", `${c.host.includes(":") ? `[${c.host}]` : c.host} ${c.hostKey}`);
      args.push("-o", `UserKnownHostsFile=${kh}`, "-o", "StrictHostKeyChecking=yes");
    } else {
      // As the command provider does without a pinned key: take the host's key, remember nothing.
      args.push("-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no");
    }
    args.push(`${c.user ?? "root"}@${c.host}`, "--");
    return args;
  }

  argv(node: NodePlan): string[] {
    return this.argvFor(this.connectionOf(node));
  }

  /**
   * Run `command` as the remote command, as remote.Command sends it (one string to the login
   * shell, no secrets in it); `stdin` (secrets) goes on the pipe as given.
   */
  exec(c: SshConnection, command: string, stdin = ""): Promise<ExecResult> {
    const [cmd, ...args] = this.argvFor(c);
    return execCommand(cmd as string, [...args, command], (this.settings.timeoutS ?? 90) * 1000, 64 * 1024 * 1024, stdin);
  }

  /** Run `script` on a node of the plan; `stdinLine` (the API key, or nothing) is its stdin. */
  run(node: NodePlan, script: string, stdinLine = ""): Promise<ExecResult> {
    return this.exec(this.connectionOf(node), script, `${stdinLine}\n`);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
