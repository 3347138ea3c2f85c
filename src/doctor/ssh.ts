/**
 * How `doctor` reaches a node: the same connection settings as the components (user, host, port,
 * the stack's private key, the pinned host key) with the local OpenSSH client in BatchMode. The
 * key and the pinned host key go into files in a private temporary folder (mode 0600), never on a
 * command line; the folder is removed afterwards. Failures are classified for the report.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

export class SshSession {
  private readonly dir: string;

  constructor(private readonly settings: SshSettings) {
    this.dir = mkdtempSync(join(tmpdir(), "dgx-spark-vllm-doctor-"));
  }

  private keyFile(node: NodePlan): string | undefined {
    if (this.settings.identityFile) return this.settings.identityFile;
    const text = this.settings.privateKeys?.[node.name];
    if (text === undefined) return undefined;
    const f = join(this.dir, `key-${node.name}`);
    writeFileSync(f, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });
    return f;
  }

  /** The ssh argv for a node (without the remote command). Exported for the report and tests. */
  argv(node: NodePlan): string[] {
    const s = this.settings;
    const args = [...(s.sshCommand ?? ["ssh"]), ...(s.extraOptions ?? []), "-o", "BatchMode=yes", "-o", `ConnectTimeout=${s.connectTimeoutS ?? 10}`, "-o", "LogLevel=ERROR", "-p", String(node.ssh.port)];
    const key = this.keyFile(node);
    if (key) args.push("-o", "IdentitiesOnly=yes", "-i", key);
    if (node.ssh.hostKey) {
      const kh = join(this.dir, `known_hosts-${node.name}`);
      writeFileSync(kh, `${node.ssh.host.includes(":") ? `[${node.ssh.host}]` : node.ssh.host} ${node.ssh.hostKey}\n`, { mode: 0o600 });
      args.push("-o", `UserKnownHostsFile=${kh}`, "-o", "StrictHostKeyChecking=yes");
    } else {
      // As the command provider does without a pinned key: take the host's key, remember nothing.
      args.push("-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no");
    }
    args.push(`${node.ssh.user}@${node.ssh.host}`, "--");
    return args;
  }

  /**
   * Run `script` on the node as the remote command (as remote.Command sends it: no secrets in
   * it); `stdinLine` (the API key, or nothing) is its stdin.
   */
  run(node: NodePlan, script: string, stdinLine = ""): Promise<ExecResult> {
    const [cmd, ...args] = this.argv(node);
    return execCommand(cmd as string, [...args, script], (this.settings.timeoutS ?? 90) * 1000, 64 * 1024 * 1024, `${stdinLine}\n`);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
