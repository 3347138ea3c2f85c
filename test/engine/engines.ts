/**
 * A real Docker engine on each simulated Spark (test/rehearsal/lab.ts), for the engine rehearsal.
 *
 * The host rehearsal's hosts answer `docker` with a stand-in (test/rehearsal/sim/docker). Here each
 * host gets this machine's own dockerd, started inside the host's network, mount and UTS
 * namespaces, and the stand-in is taken off the host's PATH, so `docker` on the host is the real
 * CLI talking to that host's engine. So everything runs where it runs on a Spark:
 *  - the docker provider reaches the engine the way SparkNode renders it, `ssh://spark@<host>`
 *    (`docker system dial-stdio` on the host), from the lab namespace where `pulumi` runs;
 *  - a `network: host` container listens in the host's network namespace, where the readiness gate
 *    and the watchdog (run over SSH on the head) reach it on 127.0.0.1, and the ranks rendezvous
 *    over the simulated RoCE cable's addresses;
 *  - bind mounts (the caches, the root-only secrets file) resolve in the host's own files.
 *
 * What differs from a Spark, and only this (sim/): the engine's data root is a folder of the
 * lab (not /var/lib/docker) and it makes no bridge or iptables rules (every container of the plan
 * runs with `network: host`; the sidecar with none); `nvidia-container-runtime-hook` is a stand-in
 * that lets `--gpus` through (no GPU); the runtime named `nvidia` (what preflight looks for) and the
 * default runtime are `runc-machine`, this machine's runc after dropping capabilities this
 * machine's root lacks and lowering RLIMIT_NOFILE to its hard limit (each change logged).
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { SimLab } from "../rehearsal/lab";

export const ENGINE_SIM_DIR = resolve(__dirname, "..", "..", "..", "test", "engine", "sim");
const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Why a simulated host cannot run a real Docker engine here, or undefined. */
export function enginesUnavailable(): string | undefined {
  for (const f of ["/usr/sbin/dockerd", "/usr/bin/docker", "/usr/bin/python3"])
    if (!existsSync(f) && spawnSync("sh", ["-c", `command -v ${f.split("/").pop()}`]).status !== 0)
      return `needs ${f} (apt-get install docker.io python3)`;
  if (spawnSync("sh", ["-c", "command -v runc"]).status !== 0) return "needs runc (apt-get install docker.io)";
  return undefined;
}

export interface RuncChange {
  readonly hostname: string;
  readonly args: string[];
  readonly changes: string[];
}

export class SimEngines {
  private constructor(
    private readonly lab: SimLab,
    /** Per host: the folder holding bin/ (runtime, hook, their logs), data/ and dockerd.log. */
    readonly dirs: Readonly<Record<string, string>>,
  ) {}

  /** Start an engine on every host of the lab and load `image` (from this machine's engine) into each. */
  static async start(lab: SimLab, image: string): Promise<SimEngines> {
    const dirs: Record<string, string> = {};
    for (const h of lab.hosts) {
      const dir = join(h.dir, "engine");
      const bin = join(dir, "bin");
      mkdirSync(bin, { recursive: true });
      for (const f of ["runc-machine", "fit-bundle.py", "nvidia-container-runtime-hook"])
        copyFileSync(join(ENGINE_SIM_DIR, f), join(bin, f));
      dirs[h.name] = dir;
      // `ip netns exec` gave the host a fresh /sys without the cgroup hierarchies the engine needs:
      // mount the machine's own (v1 or v2) again, in the host's private mount namespace only.
      lab.must(
        h.name,
        [
          "set -e",
          "if [ -e /sys/fs/cgroup/devices ] || [ -e /sys/fs/cgroup/cgroup.controllers ]; then exit 0; fi",
          `if grep -q ' cgroup2 ' /proc/1/mounts && ! grep -q ' cgroup ' /proc/1/mounts; then mount -t cgroup2 none /sys/fs/cgroup; exit 0; fi`,
          "mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup",
          "for c in $(awk '$3 == \"cgroup\" {print $4}' /proc/1/mounts | tr ',' '\\n' | grep -Ev '^(rw|ro|relatime|nosuid|nodev|noexec)$' | sort -u); do",
          '  case "$c" in name=*) d=${c#name=}; o="none,$c" ;; *) d=$c; o=$c ;; esac',
          '  mkdir -p "/sys/fs/cgroup/$d"; mount -t cgroup -o "$o" cgroup "/sys/fs/cgroup/$d"',
          "done",
        ].join("\n"),
      );
      // The real CLI, not the stand-in: /usr/bin/docker is next on the PATH.
      lab.must(h.name, "rm -f /usr/local/bin/docker /usr/local/sbin/docker");
      const log = openSync(join(dir, "dockerd.log"), "a");
      const runtime = join(bin, "runc-machine");
      const child = spawn(
        "nsenter",
        [
          "-t",
          String(h.pid),
          "-m",
          "-n",
          "-u",
          "--",
          "env",
          `PATH=${bin}:${HOST_PATH}`,
          "dockerd",
          "--data-root",
          join(dir, "data"),
          "--exec-root",
          "/run/dsv-docker",
          "--pidfile",
          "/run/dsv-dockerd.pid",
          "-H",
          "unix:///run/docker.sock",
          "--bridge=none",
          "--iptables=false",
          "--ip-masq=false",
          "--add-runtime",
          `nvidia=${runtime}`,
          "--add-runtime",
          `dsv-runc=${runtime}`,
          "--default-runtime",
          "dsv-runc",
        ],
        { detached: true, stdio: ["ignore", log, log], env: { PATH: HOST_PATH } },
      );
      child.unref();
      closeSync(log);
      const t0 = Date.now();
      while (lab.exec(h.name, "docker info >/dev/null 2>&1").code !== 0) {
        if (child.exitCode !== null || Date.now() - t0 > 60_000)
          throw new Error(
            `the Docker engine on ${h.name} did not start:\n${readFileSync(join(dir, "dockerd.log"), "utf8").slice(-3000)}`,
          );
        await new Promise((r) => setTimeout(r, 300));
      }
      // The prebuilt image is on every node before the first up (no registry is reachable).
      const load = spawnSync(
        "bash",
        [
          "-c",
          `set -o pipefail; docker save "$1" | nsenter -t ${h.pid} -m -n -u -- /usr/bin/docker load >/dev/null`,
          "load",
          image,
        ],
        { encoding: "utf8", timeout: 300_000 },
      );
      if (load.status !== 0) throw new Error(`loading ${image} into ${h.name}'s engine failed: ${load.stderr}`);
      // First use of the CLI by root and by the login user, before any snapshot.
      lab.must(h.name, "docker version >/dev/null && sudo -u spark docker version >/dev/null");
    }
    return new SimEngines(lab, dirs);
  }

  /** `docker ARGS` on a host (root), throwing on failure. */
  docker(host: string, args: string): string {
    return this.lab.must(host, `docker ${args}`);
  }

  /** Every container on a host's engine: `name state image-id`. */
  containers(host: string): string[] {
    return this.docker(host, "ps -a --format '{{.Names}} {{.State}}'").split("\n").filter(Boolean).sort();
  }

  /** `docker inspect` of every container on a host (JSON text; "[]" when none). */
  inspectAll(host: string): string {
    const ids = this.docker(host, "ps -aq").split("\n").filter(Boolean);
    return ids.length > 0 ? this.docker(host, `inspect ${ids.join(" ")}`) : "[]";
  }

  /** What the runtime changed for each container it created on a host (runc-changes.jsonl). */
  runcChanges(host: string): RuncChange[] {
    const f = join(this.dirs[host] as string, "bin", "runc-changes.jsonl");
    if (!existsSync(f)) return [];
    return readFileSync(f, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as RuncChange);
  }

  /** How many containers on a host asked for the GPUs (runs of the hook stand-in). */
  gpuRequests(host: string): number {
    const f = join(this.dirs[host] as string, "bin", "gpu-hook.log");
    return existsSync(f)
      ? readFileSync(f, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("{")).length
      : 0;
  }

  /** Remove every container and stop every engine (the lab's stop kills what is left). */
  stop(): void {
    for (const h of this.lab.hosts) {
      this.lab.exec(h.name, 'ids=$(docker ps -aq 2>/dev/null); [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1');
      this.lab.exec(
        h.name,
        "p=$(cat /run/dsv-dockerd.pid 2>/dev/null) || exit 0; kill $p; for i in $(seq 1 100); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done",
      );
    }
  }
}
