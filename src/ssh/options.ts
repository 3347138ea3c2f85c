/**
 * The one builder of OpenSSH client options for reaching a node. Every SSH connection the package
 * makes or renders derives from it: the scripts' node-to-node hops (`peerSshOptions`, rendered into
 * the watchdog, the image copy and doctor's probe), doctor's, repair's and the rehearsals' sessions,
 * the gate's log and memory samplers, and the docker provider's connection (SparkNode).
 *
 * Never prompt (BatchMode), fail fast when a host is down (ssh exits 255), notice a dead peer, and
 * write no known_hosts entry, so nothing changes the user's SSH state. A pinned host key is checked
 * strictly, handed to ssh by KnownHostsCommand (OpenSSH 8.5+; DGX OS has 9.x); without a pin any
 * key is taken, as the Pulumi command provider does. Only public data goes on the command line: a
 * private key is passed as a file (see session.ts), never as text.
 */

/** What the options depend on: the node's SSH port and its pinned host key, if any. */
export interface SshOptionTarget {
  readonly port: number;
  /** Pinned public host key, `TYPE BASE64` (nodes[].ssh.hostKey). */
  readonly hostKey?: string;
}

export interface SshOptionSettings {
  /** Seconds to wait for the connection. @default 10 */
  readonly connectTimeoutS?: number;
  /** A private key file: used alone (IdentitiesOnly), not the agent's other keys. */
  readonly identityFile?: string;
}

/** The host-key options: strict against the pin, else take any key and remember nothing. */
export function hostKeyOptions(hostKey: string | undefined): string[] {
  const noFile = ["-o", "UserKnownHostsFile=/dev/null"];
  return hostKey
    ? [...noFile, "-o", `KnownHostsCommand=/bin/echo %H ${hostKey}`, "-o", "StrictHostKeyChecking=yes"]
    : [...noFile, "-o", "StrictHostKeyChecking=no"];
}

/** OpenSSH options (without the destination) for one node. */
export function sshOptions(target: SshOptionTarget, settings: SshOptionSettings = {}): string[] {
  const identity = settings.identityFile ? ["-o", "IdentitiesOnly=yes", "-i", settings.identityFile] : [];
  return [
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${settings.connectTimeoutS ?? 10}`,
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "ServerAliveCountMax=3",
    "-o",
    "LogLevel=ERROR",
    ...hostKeyOptions(target.hostKey),
    ...identity,
    "-p",
    String(target.port),
  ];
}

/** `user@host` (the default user is root, as the components' connection has it). */
export function sshDestination(target: { readonly host: string; readonly user?: string }): string {
  return `${target.user ?? "root"}@${target.host}`;
}
