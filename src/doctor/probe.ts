/**
 * What `doctor` runs on a node: one read-only bash script that reads everything the checks need
 * and prints it as `@key value` lines (and `@key<` ... `@>` blocks). It writes nothing (no files,
 * no journal, no known_hosts entries) and never exits early. Every value that reaches the shell is
 * pattern-checked by the config schema or quoted by `shq`. stdin: the API key (or nothing), for
 * /v1/models on the head.
 *
 * The probe is a list of steps, each with its own bound: every external command that can hang
 * (docker, ip, ping, ssh, curl, sudo, nvidia-smi, systemctl, df, find, ...) runs under `timeout`.
 * A step that ends prints `@step.<name> done`; a command that did not answer in time prints
 * `@timeout.<name> <command> <seconds>` (the step's values then mean nothing); the last line is
 * `@probe.complete`. Once docker has not answered, later docker calls are not made (each is
 * reported as timed out at once), so a node with a hung daemon is read in seconds.
 */
import { rawShell, sh } from "../shell/sh";
import { peerSshOptions } from "../plan/access";
import { disableIpv6Key, NETPLAN_FILE, payloadFor } from "../plan/link";
import { hostFile } from "../shell/host";
import { gidIndexCall } from "../plan/launch";
import { modelCacheDir } from "../plan/service";
import type { ClusterPlan, NodePlan, RouterOnCluster } from "../plan/types";
import { closedPortsOf } from "./checks/exposure";

/** Seconds each kind of command may take before the probe reports it as not answering. */
export const PROBE_BOUNDS = {
  /** docker info / image inspect / ps / logs: a healthy daemon answers in well under a second. */
  docker: 6,
  /** Local reads that ask the kernel or a local daemon: ip, ss, sysctl, swapon, systemctl, sudo. */
  local: 5,
  /** nvidia-smi (a wedged GPU driver can hang it). */
  gpu: 10,
  /** df and find over the cache folders (a hung network mount). */
  disk: 10,
  /** A don't-fragment ping: 2 packets, 1 s wait each. */
  ping: 5,
  /** curl to the engine: its own -m plus a margin. */
  curl: 12,
  /** Head -> worker SSH (its ConnectTimeout is 10 s). */
  ssh: 15,
} as const;

export interface ProbeOptions {
  /** Read the engine's log for the NCCL transport (NET/IB vs NET/Socket). */
  readonly rdma?: boolean;
}

export function probeScript(plan: ClusterPlan, node: NodePlan, opts: ProbeOptions = {}): string {
  const lines: string[] = [
    ...preamble(node, plan.router?.node === node.name),
    ...identitySteps(),
    ...node.dataPlane.flatMap((p, t) => portSteps(plan, node, p, t)),
    ...persistSteps(plan),
    ...storageSteps(plan, node),
    ...memorySteps(node),
    ...exposureSteps(plan, node),
    ...(node.role === "head" ? [...servingSteps(plan, node, opts), ...peerSshSteps(plan, node)] : []),
    ...(plan.router?.node === node.name ? routerSteps(plan.router) : []),
    'step ""',
    "printf '@probe.complete\\n'",
  ];
  return `${lines.join("\n")}\n`;
}

const b = PROBE_BOUNDS;

/** docker ps --filter for this node's engine container, by its exact name. */
function engineFilter(node: NodePlan): string {
  return `name=^/${node.container.name}$`;
}

/** The helpers every step uses: kv and block output, step markers, bounded commands, docker once hung. */
function preamble(node: NodePlan, runsRouter: boolean): string[] {
  const readsKey = node.role === "head" || runsRouter;
  return [
    "set -uo pipefail",
    "export LC_ALL=C",
    // stdin: the API key, for /v1/models on the head and the router's routes on its node (other nodes get nothing).
    ...(readsKey ? ["key=; IFS= read -r key || true"] : []),
    'if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi',
    // One line per value: newlines and carriage returns (ssh ends its errors with CRLF) become spaces.
    "kv() { printf '@%s %s\\n' \"$1\" \"$(printf '%s' \"$2\" | tr '\\r\\n' '  ' | sed 's/ *$//')\"; }",
    // A block always ends on its own line, even when the output it holds has no final newline.
    "block() { printf '@%s<\\n' \"$1\"; cat; printf '\\n@>\\n'; }",
    // Markers reach stdout through fd 3 also from inside $(...) (whose stdout is captured).
    "exec 3>&1",
    "STEP=; DOCKER_HUNG=",
    // step NAME: the step before is done; NAME begins.
    'step() { if [ -n "$STEP" ]; then printf \'@step.%s done\\n\' "$STEP"; fi; STEP=$1; }',
    // t SECONDS COMMAND...: COMMAND killed after SECONDS (KILL 1 s later); a timeout is reported
    // for the current step and returns 124.
    "t() {",
    "  local s=$1 rc=0; shift",
    '  timeout -k 1 "$s" "$@" || rc=$?',
    '  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then printf \'@timeout.%s %s %s\\n\' "$STEP" "$1" "$s" >&3; return 124; fi',
    '  return "$rc"',
    "}",
    // dk ARGS...: docker, bounded; once it has not answered it is not asked again.
    "dk() {",
    `  if [ -n "$DOCKER_HUNG" ]; then printf '@timeout.%s docker %s\\n' "$STEP" ${b.docker} >&3; return 124; fi`,
    `  t ${b.docker} docker "$@"`,
    "}",
    hostFile("gid.sh").replace(/\n$/, ""),
  ];
}

/** Who the node is (host, user, arch, kernel, GPU), and whether sudo and docker answer. */
function identitySteps(): string[] {
  return [
    "step identity",
    'kv host "$(uname -n)"',
    'kv user "$(id -un)"',
    'kv arch "$(uname -m)"',
    'kv kernel "$(uname -r)"',
    `if command -v nvidia-smi >/dev/null; then kv gpu "$(t ${b.gpu} nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>&1 | head -n1)"` +
      `; else kv gpu "nvidia-smi not found"; fi`,
    "step sudo",
    `if [ -z "$SUDO" ] || t ${b.local} sudo -n true 2>/dev/null; then kv sudo ok; else kv sudo "$(t ${b.local} sudo -n true 2>&1 | head -n1)"; fi`,
    "step docker",
    "out=$(dk info --format '{{json .Runtimes}}' 2>&1); rc=$?",
    'if [ "$rc" -eq 0 ]; then kv docker ok; case "$out" in *nvidia*) kv docker_nvidia yes ;; *) kv docker_nvidia no ;; esac',
    'elif [ "$rc" -eq 124 ]; then DOCKER_HUNG=1',
    'else kv docker "$(printf \'%s\' "$out" | head -n1)"; fi',
  ];
}

/** One data-plane port: its sysfs state, addresses, routes, GID (and pinned GID, IPv6 switch), DF pings to every peer. */
function portSteps(plan: ClusterPlan, node: NodePlan, p: NodePlan["dataPlane"][number], t: number): string[] {
  const lines: string[] = [];
  const peers = plan.nodes.filter((n) => n.name !== node.name);
  const mtu = plan.link.mtu;
  const d = `/sys/class/net/${p.netdev}`;
  const subnet = plan.link.twins[t]?.subnet ?? `${p.address}/${p.prefix}`;
  const ip = `t ${b.local} ip`;
  lines.push(
    `step port.${t}`,
    sh`d=${d}`,
    `if [ -e "$d" ]; then kv p${t}.exists yes; kv p${t}.operstate "$(cat "$d"/operstate)"` +
      `; kv p${t}.carrier "$(cat "$d"/carrier 2>/dev/null || echo 0)"; kv p${t}.speed "$(cat "$d"/speed 2>/dev/null || echo unknown)"` +
      `; kv p${t}.mtu "$(cat "$d"/mtu)"; else kv p${t}.exists no; fi`,
    sh`kv ${`p${t}.addrs`} "$(${rawShell(ip)} -o -4 addr show dev ${p.netdev} 2>/dev/null | awk '{print $4}')"`,
    sh`kv ${`p${t}.holders`} "$(${rawShell(ip)} -o -4 addr show to ${`${p.address}/32`} | awk '{print $2}')"`,
    sh`kv ${`p${t}.route`} "$(${rawShell(ip)} -o -4 route show to exact ${subnet} 2>/dev/null | head -n1)"`,
    sh`kv ${`p${t}.default`} "$(${rawShell(ip)} -o -4 route show default dev ${p.netdev} 2>/dev/null | head -n1)"`,
    sh`if g=$(${rawShell(gidIndexCall(p.hca, p.address))} 2>/dev/null); then kv ${`p${t}.gid`} "$g"; else kv ${`p${t}.gid`} none; fi`,
  );
  // link.disableIpv6: the port's IPv6 switch (read only when the plan turns IPv6 off).
  if (node.linkSteps.some((x) => x.id === "ipv6-off"))
    lines.push(sh`kv ${`p${t}.ipv6off`} "$(t ${b.local} sysctl -n ${disableIpv6Key(p.netdev)} 2>&1)"`);
  const pin = plan.link.gidPolicy;
  if (typeof pin === "object") {
    // The entry NCCL_IB_GID_INDEX names: its GID and type, read as they are.
    const port = `/sys/class/infiniband/${p.hca}/ports/1`;
    const i = pin.index;
    lines.push(
      sh`g=${port}; kv ${`p${t}.pinned`} "$(cat "$g/gids/${i}" 2>/dev/null)|$(cat "$g/gid_attrs/types/${i}" 2>/dev/null)"`,
    );
  }
  for (const peer of peers) {
    const q = peer.dataPlane[t];
    if (!q) continue;
    const key = `ping.${peer.name}.${t}`;
    lines.push(
      `step ${key}`,
      sh`if t ${b.ping} ping -M "do" -s ${payloadFor(mtu)} -c 2 -i 0.2 -W 1 -I ${p.netdev} ${q.address}` +
        sh` >/dev/null 2>&1; then kv ${key} ok; else kv ${key} fail; fi`,
    );
  }
  return lines;
}

/** The netplan file and the link's boot unit; vm.min_free_kbytes and swap. */
function persistSteps(plan: ClusterPlan): string[] {
  return [
    "step persist",
    '# shellcheck disable=SC2086 # $SUDO is empty or the two words "sudo -n"',
    sh`if t ${b.local} $SUDO test -e ${NETPLAN_FILE}; then kv netplan present` +
      sh`; t ${b.local} $SUDO cat ${NETPLAN_FILE} 2>&1 | block netplan_content; else kv netplan absent; fi`,
    sh`kv linkunit "$(t ${b.local} systemctl is-enabled ${`${plan.names.linkUnit}.service`} 2>/dev/null | head -n1)"`,
    "step hardening",
    `kv min_free_kbytes "$(t ${b.local} sysctl -n vm.min_free_kbytes 2>&1)"`,
    `kv swaps "$(t ${b.local} swapon --show=NAME --noheadings --raw 2>&1)"`,
  ];
}

/** The image, the model's files and the weights' record, free disk. */
function storageSteps(plan: ClusterPlan, node: NodePlan): string[] {
  return [
    "step image",
    sh`kv image "$(dk image inspect --format '{{.Id}}' ${plan.image.tag} 2>/dev/null || echo none)"`,
    "step models",
    sh`m=${modelCacheDir(plan, node)}` +
      sh`; if [ -d "$m/snapshots" ]; then kv models present` +
      sh`; (cd "$m/snapshots" && t ${b.disk} find -L . -type f -printf '%s %P\\n' | sort -k2) | block model_files` +
      sh`; else kv models none; fi`,
    // The weights' own record (src/host/weights-status.py): revision, files with the right size, bytes, last verification.
    ...(plan.model.delivery === "local"
      ? []
      : [
          sh`kv weights "$(t ${b.disk} python3 -c ${hostFile("weights-status.py")} ${modelCacheDir(plan, node)} ${plan.model.revision ?? ""} 2>&1 | tail -n1)"`,
        ]),
    "step disk",
    sh`d=${node.cache.huggingface}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done` +
      sh`; kv disk_path "$d"; kv disk_avail_gb "$(t ${b.disk} df -P -BG "$d" | awk 'NR==2 {print int($4)}')"`,
  ];
}

/** Free unified memory and memory pressure; the engine container's state. */
function memorySteps(node: NodePlan): string[] {
  const engine = engineFilter(node);
  return [
    "step memory",
    "kv memavailable_kb \"$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)\"",
    "kv memtotal_kb \"$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)\"",
    'kv psi "$(head -n1 /proc/pressure/memory 2>/dev/null || echo unavailable)"',
    "step engine",
    sh`kv engine "$(dk ps -a --filter ${engine} --format '{{.State}}' 2>/dev/null | head -n1)"`,
  ];
}

/**
 * Every listening socket with its process (root sees every process; without sudo, only the
 * addresses), then each peer's ports that the plan keeps off the management network, tried at the
 * peer's management host: `reach.<peer>` is `<tried>|<answered>`.
 */
function exposureSteps(plan: ClusterPlan, node: NodePlan): string[] {
  const lines = [
    "step exposure",
    // As root ss names every socket's process; without sudo it still gives the addresses.
    `{ if [ -n "$SUDO" ]; then t ${b.local} sudo -n ss -ltnupH 2>/dev/null; else t ${b.local} ss -ltnupH; fi ||` +
      ` t ${b.local} ss -ltnuH 2>/dev/null; } | block listeners`,
  ];
  for (const peer of plan.nodes.filter((n) => n.name !== node.name)) {
    const closed = closedPortsOf(plan, peer);
    if (closed.length === 0) continue;
    lines.push(
      `step reach.${peer.name}`,
      // A port that answers within 3 s is open; refused, unreachable or silent is closed. $0 and
      // $1 are bash -c's own arguments (host, port), expanded by that bash.
      "o=",
      "# shellcheck disable=SC2016",
      sh`for p in ${closed}; do if timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' ${peer.ssh.host} "$p" 2>/dev/null; then o+=" $p"; fi; done`,
      sh`kv ${`reach.${peer.name}`} ${closed.join(" ")}"|$o"`,
    );
  }
  return lines;
}

/** On the head: who holds the serving port, and the running engine's /health, /v1/models and NCCL transport. */
function servingSteps(plan: ClusterPlan, node: NodePlan, opts: ProbeOptions): string[] {
  const engine = engineFilter(node);
  const base = `http://127.0.0.1:${plan.cluster.port}`;
  return [
    "step listen",
    sh`kv listen "$(t ${b.local} ss -Hltn ${`sport = :${plan.cluster.port}`} 2>/dev/null | head -n1)"`,
    "step serving",
    sh`if [ "$(dk ps -a --filter ${engine} --format '{{.State}}' 2>/dev/null | head -n1)" = running ]; then`,
    sh`  kv health "$(t ${b.curl} curl -s -o /dev/null -w '%{http_code}' -m 5 ${`${base}/health`} 2>/dev/null || echo none)"`,
    // The key reaches curl on a pipe (printf is a builtin: in no argv), never in a file on the node.
    `  { if [ -n "$key" ]; then printf 'Authorization: Bearer %s\\n' "$key"; fi; }` +
      sh` | t ${b.curl} curl -s -m 10 -H @- ${`${base}/v1/models`} 2>&1 | block models_json`,
    ...(opts.rdma
      ? [
          sh`  dk logs --tail 5000 ${node.container.name} 2>&1 | grep -o -m1 -E 'NET/(IB|Socket)[^ ]*' | head -n1 | block nccl_net`,
        ]
      : []),
    "fi",
  ];
}

/**
 * On the router's node (serving.router): its unit's state, its /readiness and /workers (with the
 * key: every route of the router needs it), and the vllm_router_* lines of its metrics listener.
 */
function routerSteps(r: RouterOnCluster): string[] {
  const base = `http://127.0.0.1:${r.port}`;
  const withKey = `{ if [ -n "$key" ]; then printf 'Authorization: Bearer %s\\n' "$key"; fi; } | `;
  return [
    "step router",
    sh`kv router_unit "$(t ${b.local} systemctl is-active ${`${r.unit}.service`} 2>/dev/null | head -n1)"`,
    `code=$(${withKey}` +
      sh`t ${b.curl} curl -s -o /dev/null -w '%{http_code}' -m 5 -H @- ${`${base}/readiness`} 2>/dev/null); kv router_ready "$code"`,
    withKey + sh`t ${b.curl} curl -s -m 10 -H @- ${`${base}/workers`} 2>/dev/null | block router_workers`,
    sh`t ${b.curl} curl -s -m 10 ${`http://127.0.0.1:${r.metricsPort}/metrics`} 2>/dev/null | grep '^vllm_router_' | block router_metrics`,
  ];
}

/** On the head: SSH to every peer's management and data-plane addresses, with the library's own options. */
function peerSshSteps(plan: ClusterPlan, node: NodePlan): string[] {
  const lines: string[] = [];
  for (const peer of plan.nodes.filter((n) => n.name !== node.name)) {
    const targets = [
      { id: "mgmt", address: peer.ssh.host },
      ...peer.dataPlane.map((q, t) => ({ id: `p${t}`, address: q.address })),
    ];
    for (const tg of targets) {
      const key = `peerssh.${peer.name}.${tg.id}`;
      lines.push(
        `step ${key}`,
        // The options the library's own head -> worker SSH uses (pinned key checked, nothing recorded).
        sh`r=$(t ${b.ssh} ${["ssh", ...peerSshOptions(peer), `${peer.ssh.user}@${tg.address}`]} true 2>&1 </dev/null)` +
          sh`; kv ${key} "$?|$(printf '%s' "$r" | tail -n3)"`,
      );
    }
  }
  return lines;
}

/** Parse the probe's output into single values and blocks. */
export function parseProbe(out: string): Map<string, string> {
  const m = new Map<string, string>();
  const lines = out.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    const block = /^@([\w.-]+)<$/.exec(l);
    if (block) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== "@>"; i++) body.push(lines[i] as string);
      m.set(block[1] as string, body.join("\n").replace(/\n+$/, ""));
      continue;
    }
    const kv = /^@([\w.-]+) ?([^\n]*)$/.exec(l);
    if (kv) m.set(kv[1] as string, kv[2] as string);
  }
  return m;
}
