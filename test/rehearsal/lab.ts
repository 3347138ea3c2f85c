/**
 * Simulated DGX Spark hosts on this machine, for rehearsing what the components run over SSH.
 *
 * Each host is its own network, mount and UTS namespace (booted by `sim/hostinit`): a real sshd
 * on a management address, a login user with passwordless sudo and the docker group, its own
 * copy-on-write view of /etc, /var, /home, /usr/local, /opt and /root, and stand-ins for the
 * hardware tools (`sim/`). The data plane is either a cable (two hosts: a veth pair per twin
 * joins their ports directly) or a switch (any number of hosts: per twin a Linux bridge in the
 * lab's switch namespace, each host's port a veth whose peer is a bridge port, jumbo frames
 * allowed on the bridge, so a host forwards 9000-byte frames exactly when its own MTU says so,
 * as with the cable). The test process reaches the management addresses
 * from a separate "lab" namespace, so the machine's own network, files, kernel settings and swap
 * are never touched. `stop()` (also run on exit and on SIGINT/SIGTERM) kills every process in the
 * namespaces and deletes them; `start()` first removes what a killed earlier run left behind.
 */
import { type ChildProcess, execFileSync, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SshSession, type SshConnection } from "../../src/ssh";

export const SIM_DIR = path.resolve(__dirname, "..", "..", "..", "test", "rehearsal", "sim");
const NS_PREFIX = "dsvr-";
const ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface SimHostSpec {
  readonly name: string;
  /**
   * Data-plane ports in twin order: with the cable, port t of one host is cabled to port t of the
   * other; with the switch, port t of every host is a port of twin t's bridge.
   */
  readonly ports: readonly { readonly netdev: string; readonly hca: string }[];
}

/**
 * How the hosts' data-plane ports are joined: `cable` (exactly two hosts, a veth pair per twin,
 * what two Sparks cabled back to back are) or `switch` (a bridge per twin, any number of hosts).
 */
export type DataPlane = "cable" | "switch";

export interface SimLabOptions {
  /** @default "cable" for two hosts, "switch" for more */
  readonly dataPlane?: DataPlane;
}

/** The MTU of a switch's bridge and its ports: above any data-plane MTU a plan sets (9000). */
export const SWITCH_MTU = 9216;

export interface SimHost {
  readonly name: string;
  readonly ns: string;
  readonly dir: string;
  /** Management address (sshd listens on port 22). */
  readonly mgmt: string;
  /** The host's SSH host key line, `ssh-ed25519 AAAA...`. */
  readonly hostKey: string;
  readonly pid: number;
  readonly netdevs: readonly string[];
}

/** What an SSH connection of a component says (the resolved `connection` input). */
export type Conn = SshConnection;

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, {
    encoding: "utf8",
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
}

function quiet(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { stdio: "ignore" });
}

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== "linux") return "needs Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "needs root (network namespaces)";
  for (const tool of ["ip", "unshare", "nsenter", "/usr/sbin/sshd", "ssh", "ssh-keygen", "sudo", "ping"]) {
    const found = tool.startsWith("/")
      ? fs.existsSync(tool)
      : spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
    if (!found) return `needs ${tool} (apt-get install iproute2 openssh-server openssh-client sudo iputils-ping)`;
  }
  return undefined;
}

/** Kill every process in our namespaces and delete them. */
function removeNamespaces(names: string[]): void {
  for (const ns of names) {
    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "";
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
  for (const ns of names) quiet("ip", ["netns", "del", ns]);
}

/** Namespaces a killed earlier run left behind (its pid no longer exists). */
function staleNamespaces(): string[] {
  const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  return list
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(NS_PREFIX))
    .filter((n) => {
      const pid = Number(n.slice(NS_PREFIX.length).split("-")[0]);
      if (!Number.isInteger(pid) || pid === process.pid) return false;
      return !alive(pid);
    });
}

/** A process that exists and is not a zombie (a killed run's pid may linger unreaped). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** Remove what killed earlier runs left: their namespaces (and processes) and their folders. */
function removeStale(): void {
  removeNamespaces(staleNamespaces());
  for (const d of fs.readdirSync(os.tmpdir())) {
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(d);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1])))
      fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
  }
}

const live = new Set<SimLab>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => live.forEach((l) => l.stop()));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      live.forEach((l) => l.stop());
      process.exit(130);
    });
  }
}

export class SimLab {
  readonly root: string;
  readonly labNs: string;
  readonly hosts: readonly SimHost[];
  /** The client's private key (OpenSSH text) every host authorizes for its login user. */
  readonly clientKey: string;
  readonly dataPlane: DataPlane;
  /** The switch's namespace (its bridges `br<twin>`, ports `h<host>p<twin>`); undefined with the cable. */
  readonly switchNs: string | undefined;
  private stopped = false;
  private readonly session: SshSession;

  private constructor(
    root: string,
    labNs: string,
    hosts: SimHost[],
    clientKey: string,
    dataPlane: DataPlane,
    switchNs: string | undefined,
  ) {
    this.root = root;
    this.labNs = labNs;
    this.hosts = hosts;
    this.clientKey = clientKey;
    this.dataPlane = dataPlane;
    this.switchNs = switchNs;
    this.session = new SshSession({
      sshCommand: ["ip", "netns", "exec", labNs, "ssh"],
      extraOptions: ["-F", "/dev/null"],
      connectTimeoutS: 3,
      timeoutS: 120,
    });
  }

  /** Boot the hosts (about a second each). Host i gets management address 10.231.<i+1>.2. */
  static async start(specs: readonly SimHostSpec[], opts: SimLabOptions = {}): Promise<SimLab> {
    const why = labUnavailable();
    if (why) throw new Error(`simulated hosts: ${why}`);
    const dataPlane = opts.dataPlane ?? (specs.length > 2 ? "switch" : "cable");
    if (dataPlane === "cable" && specs.length !== 2)
      throw new Error(
        `simulated hosts: the data-plane cable joins exactly two hosts (got ${specs.length}): use dataPlane "switch"`,
      );
    if (specs.length < 2 || specs.length > 200)
      throw new Error(`simulated hosts: ${specs.length} hosts (use 2 to 200)`);
    const twins = (specs[0] as SimHostSpec).ports.length;
    for (const s of specs)
      if (s.ports.length !== twins)
        throw new Error(`simulated hosts: ${s.name} has ${s.ports.length} data-plane port(s), the first host ${twins}`);
    removeStale();
    hookExit();
    const id = `${NS_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `${id}-`));
    const labNs = `${id}-lab`;
    const switchNs = dataPlane === "switch" ? `${id}-sw` : undefined;
    const nsOf = (i: number) => `${id}-h${i}`;
    const made: string[] = [];
    const cleanupOnError = (e: unknown): never => {
      removeNamespaces(made);
      fs.rmSync(root, { recursive: true, force: true });
      throw e;
    };
    try {
      sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dsv-rehearsal", "-f", path.join(root, "client")]);
      sh("ip", ["netns", "add", labNs]);
      made.push(labNs);
      sh("ip", ["-n", labNs, "link", "set", "lo", "up"]);
      specs.forEach((_, i) => {
        sh("ip", ["netns", "add", nsOf(i)]);
        made.push(nsOf(i));
      });
      // Management: a point-to-point veth per host from the lab namespace.
      specs.forEach((_, i) => {
        const m = `m${i}`;
        sh("ip", ["link", "add", m, "netns", labNs, "type", "veth", "peer", "name", "eth0", "netns", nsOf(i)]);
        sh("ip", ["-n", labNs, "addr", "add", `10.231.${i + 1}.1/30`, "dev", m]);
        sh("ip", ["-n", labNs, "link", "set", m, "up"]);
        sh("ip", ["-n", nsOf(i), "addr", "add", `10.231.${i + 1}.2/30`, "dev", "eth0"]);
        sh("ip", ["-n", nsOf(i), "link", "set", "eth0", "up"]);
        sh("ip", ["-n", nsOf(i), "route", "add", "10.231.0.0/16", "via", `10.231.${i + 1}.1`]);
      });
      // The lab namespace routes between the hosts' management addresses (node-to-node SSH). The
      // setting belongs to the lab's own network namespace, not to the machine.
      sh("ip", ["netns", "exec", labNs, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
      if (switchNs !== undefined) {
        // The switch: per twin a bridge (no STP, forwarding at once, jumbo frames), each host's port
        // a veth whose peer is a bridge port. The hosts' ports start up, MTU 1500, no address.
        sh("ip", ["netns", "add", switchNs]);
        made.push(switchNs);
        sh("ip", ["-n", switchNs, "link", "set", "lo", "up"]);
        for (let t = 0; t < twins; t++) {
          const br = `br${t}`;
          sh("ip", ["-n", switchNs, "link", "add", br, "type", "bridge", "stp_state", "0", "forward_delay", "0"]);
          sh("ip", ["-n", switchNs, "link", "set", br, "mtu", String(SWITCH_MTU), "up"]);
          specs.forEach((spec, i) => {
            const p = spec.ports[t] as SimHostSpec["ports"][number];
            const port = `h${i}p${t}`;
            sh("ip", [
              "link",
              "add",
              port,
              "netns",
              switchNs,
              "type",
              "veth",
              "peer",
              "name",
              p.netdev,
              "netns",
              nsOf(i),
            ]);
            sh("ip", ["-n", switchNs, "link", "set", port, "mtu", String(SWITCH_MTU), "master", br, "up"]);
            sh("ip", ["-n", nsOf(i), "link", "set", p.netdev, "up"]);
          });
        }
      }
      // The RoCE cable(s): port t of host 0 <-> port t of host 1, up, MTU 1500, no address.
      const [a, b] = specs as [SimHostSpec, SimHostSpec];
      if (switchNs === undefined)
        a.ports.forEach((p, t) => {
          const q = b.ports[t];
          if (!q) throw new Error(`simulated hosts: ${b.name} has no twin ${t}`);
          sh("ip", [
            "link",
            "add",
            p.netdev,
            "netns",
            nsOf(0),
            "type",
            "veth",
            "peer",
            "name",
            q.netdev,
            "netns",
            nsOf(1),
          ]);
          sh("ip", ["-n", nsOf(0), "link", "set", p.netdev, "up"]);
          sh("ip", ["-n", nsOf(1), "link", "set", q.netdev, "up"]);
        });
      const hosts: SimHost[] = [];
      for (const [i, spec] of specs.entries()) {
        const dir = path.join(root, spec.name);
        fs.mkdirSync(dir);
        fs.copyFileSync(path.join(root, "client.pub"), path.join(dir, "client.pub"));
        fs.copyFileSync(path.join(root, "client"), path.join(dir, "client"));
        fs.writeFileSync(path.join(dir, "ibmap"), spec.ports.map((p) => `${p.hca} ${p.netdev}\n`).join(""));
        const mgmt = `10.231.${i + 1}.2`;
        const log = fs.openSync(path.join(dir, "init.log"), "a");
        const child = spawn(
          "ip",
          [
            "netns",
            "exec",
            nsOf(i),
            "unshare",
            "--mount",
            "--uts",
            "--propagation",
            "private",
            "bash",
            path.join(SIM_DIR, "hostinit"),
            dir,
            spec.name,
            mgmt,
          ],
          {
            detached: true,
            stdio: ["ignore", log, log],
            env: { PATH: ROOT_PATH },
          },
        );
        child.unref();
        fs.closeSync(log);
        const ready = path.join(dir, "ready");
        const t0 = Date.now();
        while (!fs.existsSync(ready)) {
          if (child.exitCode !== null || Date.now() - t0 > 30_000) {
            throw new Error(
              `simulated host ${spec.name} did not boot:\n${fs.readFileSync(path.join(dir, "init.log"), "utf8")}`,
            );
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        const hostKey = fs.readFileSync(path.join(dir, "hostkey.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
        hosts.push({
          name: spec.name,
          ns: nsOf(i),
          dir,
          mgmt,
          hostKey,
          pid: child.pid as number,
          netdevs: spec.ports.map((p) => p.netdev),
        });
      }
      const started = new SimLab(
        root,
        labNs,
        hosts,
        fs.readFileSync(path.join(root, "client"), "utf8"),
        dataPlane,
        switchNs,
      );
      live.add(started);
      return started;
    } catch (e) {
      return cleanupOnError(e);
    }
  }

  host(name: string): SimHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no simulated host ${name}`);
    return h;
  }

  /** Run a bash script as root inside a host (its network, mounts and hostname). */
  exec(name: string, script: string): Run {
    const h = this.host(name);
    const r = spawnSync("nsenter", ["-t", String(h.pid), "-m", "-n", "-u", "--", "bash", "-c", script], {
      encoding: "utf8",
      env: { PATH: ROOT_PATH },
      timeout: 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  /**
   * Start `argv` inside a host (its mount, network and UTS namespaces) without waiting for it: a
   * process the test stops itself (a listener, a copy killed midway). The environment is root's PATH.
   */
  spawn(name: string, argv: readonly string[], opts: Omit<SpawnOptions, "env"> = {}): ChildProcess {
    const h = this.host(name);
    return spawn("nsenter", ["-t", String(h.pid), "-m", "-n", "-u", "--", ...argv], {
      stdio: "ignore",
      ...opts,
      env: { PATH: ROOT_PATH },
    });
  }

  /** Like exec, but throws with the output when the script fails. */
  must(name: string, script: string): string {
    const r = this.exec(name, script);
    if (r.code !== 0) throw new Error(`on ${name}: exit ${r.code}: ${script}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /**
   * Run `command` over SSH exactly as a component's connection says, from the lab namespace, with
   * the one SSH module (src/ssh/session.ts): the command string goes to the login shell as one
   * piece (as remote.Command sends it), stdin (secrets) on the pipe. A pinned host key must match
   * (StrictHostKeyChecking=yes); without one any key is taken, as the command provider does.
   */
  async ssh(conn: Conn, command: string, stdin?: string): Promise<Run> {
    const r = await this.session.exec(conn, command, stdin ?? "");
    return { code: r.code ?? -1, stdout: r.stdout, stderr: r.error ? `${r.stderr}${r.error}` : r.stderr };
  }

  /** Everything of a host the components could change (sim/snapshot): files, interfaces, sysctl values, swaps. */
  snapshot(name: string): string {
    const h = this.host(name);
    return this.must(name, `${path.join(SIM_DIR, "snapshot")} ${h.dir}/fs`);
  }

  /** A simulated reboot of a host (sim/reboot): kernel state forgotten, then boot's units run. */
  reboot(name: string): void {
    const h = this.host(name);
    this.must(name, `${path.join(SIM_DIR, "reboot")} ${h.netdevs.join(" ")}`);
  }

  /** The GID table entry (index) holding `address` as RoCE v2, or undefined. */
  rocev2GidIndex(name: string, hca: string, address: string): number | undefined {
    const out = this.exec(
      name,
      `d=/sys/class/infiniband/${hca}/ports/1; for f in $d/gids/[0-9]*; do i=\${f##*/}; echo "$i $(cat $f) $(cat $d/gid_attrs/types/$i 2>/dev/null)"; done`,
    ).stdout;
    const hex = address.split(".").map((o) => Number(o).toString(16).padStart(2, "0"));
    const gid = `0000:0000:0000:0000:0000:ffff:${hex[0]}${hex[1]}:${hex[2]}${hex[3]}`;
    const line = out.split("\n").find((l) => l.includes(` ${gid} RoCE v2`));
    return line ? Number(line.split(" ")[0]) : undefined;
  }

  /**
   * Take a host's switch port of twin `twin` down (a pulled cable or a port shut on the switch) or
   * bring it back up. Only with the switch.
   */
  switchPort(name: string, twin: number, state: "up" | "down"): void {
    if (this.switchNs === undefined) throw new Error("simulated hosts: switchPort needs the switch data plane");
    const i = this.hosts.findIndex((h) => h.name === name);
    if (i < 0) throw new Error(`no simulated host ${name}`);
    sh("ip", ["-n", this.switchNs, "link", "set", `h${i}p${twin}`, state]);
  }

  /** What the host's stand-in systemd ran (unit output), for asserting on the boot. */
  journal(name: string): string {
    return this.must(name, "cat /var/lib/dsv-sim/journal");
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    this.session.close();
    removeNamespaces([...this.hosts.map((h) => h.ns), this.labNs, ...(this.switchNs ? [this.switchNs] : [])]);
    // The hosts' overlays lived in their own mount namespaces: gone with the processes.
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
