/**
 * A node's listening sockets (`ss -ltnupH`) held against the plan's port table (src/plan/exposure.ts):
 * which sockets the table does not list, which are bound wider than it says, and which ports the
 * table keeps off the management network. Pure; doctor's `exposure` check and the host rehearsal
 * both use it.
 */
import type { PortEntry } from "../plan/types";

export interface Listener {
  readonly protocol: "tcp" | "udp";
  /** The bound address as ss prints it, without brackets or %interface: 0.0.0.0, ::, 127.0.0.1, 10.0.0.1 ... */
  readonly address: string;
  readonly port: number;
  /** The process, when ss could tell (`users:(("sshd",pid=1,fd=3))` -> sshd). */
  readonly process?: string;
}

/** The listeners in `ss -ltnupH` (or `ss -ltnH`) output; lines that are not sockets are skipped. */
export function parseSs(out: string): Listener[] {
  const found: Listener[] = [];
  for (const line of out.split("\n")) {
    const f = line.trim().split(/\s+/);
    // With -u the first column is the protocol (tcp/udp); without, the state.
    const protocol = f[0] === "udp" ? "udp" : "tcp";
    const local = f[0] === "tcp" || f[0] === "udp" ? f[4] : f[3];
    const m = local ? /^\[?(.*?)\]?(?:%[^:\]]+)?:(\d+|\*)$/.exec(local) : null;
    if (!m || m[2] === "*") continue;
    const address = (m[1] as string) === "*" ? "0.0.0.0" : (m[1] as string).replace(/%.*$/, "");
    const proc = /users:\(\("([^"]+)"/.exec(line)?.[1];
    found.push({ protocol, address, port: Number(m[2]), ...(proc ? { process: proc } : {}) });
  }
  return found;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "*"]);
const plain = (a: string) => a.replace(/^::ffff:/, "");
/** 127.0.0.0/8, ::1 or an IPv4-mapped loopback address. */
export const isLoopback = (a: string) => plain(a).startsWith("127.") || a === "::1";

/** Whether a socket bound at `address` is no wider than a row's `bind`. */
export function withinBind(address: string, bind: string): boolean {
  if (WILDCARDS.has(bind)) return true;
  if (WILDCARDS.has(address)) return false;
  if (isLoopback(bind)) return isLoopback(address);
  return plain(address) === plain(bind);
}

/** The table's row for a socket: its port's row, or an ephemeral row on its address. */
function rowOf(rows: readonly PortEntry[], s: Listener): PortEntry | undefined {
  if (s.protocol !== "tcp") return undefined;
  return (
    rows.find((r) => r.port === s.port) ??
    rows.find((r) => r.port === "ephemeral" && (WILDCARDS.has(r.bind) || plain(r.bind) === plain(s.address)))
  );
}

export interface ListenerFindings {
  /** Sockets no row lists. */
  readonly unlisted: readonly Listener[];
  /** Sockets of a managed row, bound wider than the row says. */
  readonly wider: readonly { readonly socket: Listener; readonly row: PortEntry }[];
  /** The rows' ports that listen as the table says. */
  readonly matched: readonly Listener[];
}

/** One node's sockets against that node's rows. */
export function checkListeners(rows: readonly PortEntry[], sockets: readonly Listener[]): ListenerFindings {
  const unlisted: Listener[] = [];
  const wider: { socket: Listener; row: PortEntry }[] = [];
  const matched: Listener[] = [];
  for (const s of sockets) {
    const row = rowOf(rows, s);
    if (!row) unlisted.push(s);
    else if (row.managed && !withinBind(s.address, row.bind)) wider.push({ socket: s, row });
    else matched.push(s);
  }
  return { unlisted, wider, matched };
}

/**
 * The listening TCP ports the table keeps off the management network: their row binds loopback or
 * an address other than the node's management host (`mgmt`, e.g. the data-plane address). A
 * connection from the management network to `mgmt` must be refused on each.
 */
export function closedToManagement(rows: readonly PortEntry[], sockets: readonly Listener[], mgmt: string): number[] {
  const ports = new Set<number>();
  for (const s of sockets) {
    const row = rowOf(rows, s);
    if (row && keptOffManagement(row, mgmt)) ports.add(s.port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** A row of ours bound to loopback or to an address other than the node's management host `mgmt`. */
export function keptOffManagement(row: PortEntry, mgmt: string): boolean {
  if (!row.managed || WILDCARDS.has(row.bind)) return false;
  return isLoopback(row.bind) || plain(row.bind) !== plain(mgmt);
}

/** A socket as a user reads it: `tcp 0.0.0.0:9090 (prometheus)`. */
export function describeListener(s: Listener): string {
  const host = s.address.includes(":") ? `[${s.address}]` : s.address;
  return `${s.protocol} ${host}:${s.port}${s.process ? ` (${s.process})` : ""}`;
}
