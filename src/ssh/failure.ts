/** What went wrong with an SSH connection, from ssh's own messages, with a fix for the report. */

export type SshFailureKind =
  | "auth"
  | "host-key-changed"
  | "host-key-unknown"
  | "timeout"
  | "refused"
  | "no-route"
  | "name"
  | "other";

export interface SshFailure {
  readonly kind: SshFailureKind;
  readonly detail: string;
  readonly fix: string;
}

/** Classify ssh's stderr (or an exec error) into a failure kind with a fix. */
export function classifySshText(text: string): SshFailure {
  const t = text.toLowerCase();
  if (t.includes("remote host identification has changed") || (t.includes("host key for") && t.includes("has changed")))
    return {
      kind: "host-key-changed",
      detail: lastLine(text),
      fix:
        "the host key differs from the one pinned or known: if the Spark was reinstalled, update nodes[].ssh.hostKey" +
        " (ssh-keyscan -t ed25519 <host>) and known_hosts" +
        "; otherwise stop: something else answers at that address",
    };
  if (t.includes("host key verification failed"))
    return {
      kind: "host-key-unknown",
      detail: lastLine(text),
      fix: "the host key is not the pinned/known one: check nodes[].ssh.hostKey (ssh-keyscan -t ed25519 <host>)",
    };
  if (t.includes("permission denied"))
    return {
      kind: "auth",
      detail: lastLine(text),
      fix: "the key is not accepted: check ssh.user and that the public key is in ~/.ssh/authorized_keys on the host (ssh-copy-id)",
    };
  if (t.includes("timed out") || t.includes("timeout"))
    return {
      kind: "timeout",
      detail: lastLine(text),
      fix: "no answer: is the host up, and is the management address right (nodes[].ssh.host)? a rebooting Spark takes a few minutes",
    };
  if (t.includes("connection refused"))
    return {
      kind: "refused",
      detail: lastLine(text),
      fix: "nothing listens on the SSH port: start sshd on the host (sudo systemctl start ssh) or fix nodes[].ssh.port",
    };
  if (t.includes("no route to host") || t.includes("network is unreachable"))
    return {
      kind: "no-route",
      detail: lastLine(text),
      fix: "no route to the management address: check nodes[].ssh.host and this machine's network",
    };
  if (t.includes("could not resolve hostname") || t.includes("name or service not known"))
    return {
      kind: "name",
      detail: lastLine(text),
      fix: "the host name does not resolve: use an address or fix DNS / /etc/hosts",
    };
  return {
    kind: "other",
    detail: lastLine(text) || "ssh failed",
    fix: "run the ssh command by hand with -v to see why",
  };
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split("\n")
      .filter((l) => l.trim())
      .slice(-1)[0]
      ?.trim() ?? ""
  );
}
