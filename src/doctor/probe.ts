/**
 * What `doctor` runs on a node: one read-only bash script that reads everything the checks need
 * and prints it as `@key value` lines (and `@key<` ... `@>` blocks). It writes nothing (no files,
 * no journal, no known_hosts entries) and never exits early. Every value that reaches the shell is
 * pattern-checked by the config schema or quoted by `shq`. stdin: the API key (or nothing), for
 * /v1/models on the head.
 */
import { rawShell, sh } from "../shell/sh";
import { peerSshOptions } from "../plan/access";
import { NETPLAN_FILE, LINK_UNIT, payloadFor } from "../plan/link";
import { hostFile } from "../shell/host";
import { gidIndexCall } from "../plan/launch";
import { modelCacheDir } from "../plan/service";
import type { ClusterPlan, NodePlan } from "../plan/types";

export interface ProbeOptions {
  /** Read the engine's log for the NCCL transport (NET/IB vs NET/Socket). */
  readonly rdma?: boolean;
}

export function probeScript(plan: ClusterPlan, node: NodePlan, opts: ProbeOptions = {}): string {
  const isHead = node.role === "head";
  const peers = plan.nodes.filter((n) => n.name !== node.name);
  const mtu = plan.link.mtu;
  // docker ps --filter for this node's engine container, by its exact name.
  const engine = `name=^/${node.container.name}$`;
  const lines: string[] = [
    "set -uo pipefail",
    "export LC_ALL=C",
    // stdin: the API key, for /v1/models on the head (other nodes get nothing).
    ...(isHead ? ["key=; IFS= read -r key || true"] : []),
    'if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi',
    // One line per value: newlines and carriage returns (ssh ends its errors with CRLF) become spaces.
    "kv() { printf '@%s %s\\n' \"$1\" \"$(printf '%s' \"$2\" | tr '\\r\\n' '  ' | sed 's/ *$//')\"; }",
    // A block always ends on its own line, even when the output it holds has no final newline.
    "block() { printf '@%s<\\n' \"$1\"; cat; printf '\\n@>\\n'; }",
    hostFile("gid.sh").replace(/\n$/, ""),
    'kv host "$(uname -n)"',
    'kv user "$(id -un)"',
    'kv arch "$(uname -m)"',
    'if command -v nvidia-smi >/dev/null; then kv gpu "$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>&1 | head -n1)"; else kv gpu "nvidia-smi not found"; fi',
    'if [ -z "$SUDO" ] || sudo -n true 2>/dev/null; then kv sudo ok; else kv sudo "$(sudo -n true 2>&1 | head -n1)"; fi',
    'if out=$(docker info --format \'{{json .Runtimes}}\' 2>&1); then kv docker ok; case "$out" in *nvidia*) kv docker_nvidia yes ;; *) kv docker_nvidia no ;; esac; else kv docker "$(printf \'%s\' "$out" | head -n1)"; fi',
  ];
  node.dataPlane.forEach((p, t) => {
    const d = `/sys/class/net/${p.netdev}`;
    const subnet = plan.link.twins[t]?.subnet ?? `${p.address}/${p.prefix}`;
    lines.push(
      sh`d=${d}`,
      `if [ -e "$d" ]; then kv p${t}.exists yes; kv p${t}.operstate "$(cat "$d"/operstate)"; kv p${t}.carrier "$(cat "$d"/carrier 2>/dev/null || echo 0)"; kv p${t}.speed "$(cat "$d"/speed 2>/dev/null || echo unknown)"; kv p${t}.mtu "$(cat "$d"/mtu)"; else kv p${t}.exists no; fi`,
      sh`kv ${`p${t}.addrs`} "$(ip -o -4 addr show dev ${p.netdev} 2>/dev/null | awk '{print $4}')"`,
      sh`kv ${`p${t}.holders`} "$(ip -o -4 addr show to ${`${p.address}/32`} | awk '{print $2}')"`,
      sh`kv ${`p${t}.route`} "$(ip -o -4 route show to exact ${subnet} 2>/dev/null | head -n1)"`,
      sh`kv ${`p${t}.default`} "$(ip -o -4 route show default dev ${p.netdev} 2>/dev/null | head -n1)"`,
      sh`if g=$(${rawShell(gidIndexCall(p.hca, p.address))} 2>/dev/null); then kv ${`p${t}.gid`} "$g"; else kv ${`p${t}.gid`} none; fi`,
    );
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
        sh`if ping -M "do" -s ${payloadFor(mtu)} -c 2 -i 0.2 -W 1 -I ${p.netdev} ${q.address} >/dev/null 2>&1; then kv ${key} ok; else kv ${key} fail; fi`,
      );
    }
  });
  lines.push(
    sh`if $SUDO test -e ${NETPLAN_FILE}; then kv netplan present; $SUDO cat ${NETPLAN_FILE} 2>&1 | block netplan_content; else kv netplan absent; fi`,
    sh`kv linkunit "$(systemctl is-enabled ${`${LINK_UNIT}.service`} 2>/dev/null | head -n1)"`,
    'kv min_free_kbytes "$(sysctl -n vm.min_free_kbytes 2>&1)"',
    'kv swaps "$(swapon --show=NAME --noheadings --raw 2>&1)"',
    sh`kv image "$(docker image inspect --format '{{.Id}}' ${plan.image.tag} 2>/dev/null || echo none)"`,
    sh`m=${modelCacheDir(plan, node)}; if [ -d "$m/snapshots" ]; then kv models present; (cd "$m/snapshots" && find -L . -type f -printf '%s %P\\n' | sort -k2) | block model_files; else kv models none; fi`,
    sh`d=${node.cache.huggingface}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; kv disk_path "$d"; kv disk_avail_gb "$(df -P -BG "$d" | awk 'NR==2 {print int($4)}')"`,
    "kv memavailable_kb \"$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)\"",
    "kv memtotal_kb \"$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)\"",
    'kv psi "$(head -n1 /proc/pressure/memory 2>/dev/null || echo unavailable)"',
    sh`kv engine "$(docker ps -a --filter ${engine} --format '{{.State}}' 2>/dev/null | head -n1)"`,
  );
  if (isHead) {
    const base = `http://127.0.0.1:${plan.cluster.port}`;
    lines.push(
      sh`kv listen "$(ss -Hltn ${`sport = :${plan.cluster.port}`} 2>/dev/null | head -n1)"`,
      sh`if [ "$(docker ps -a --filter ${engine} --format '{{.State}}' 2>/dev/null | head -n1)" = running ]; then`,
      sh`  kv health "$(curl -s -o /dev/null -w '%{http_code}' -m 5 ${`${base}/health`} 2>/dev/null || echo none)"`,
      // The key reaches curl on a pipe (printf is a builtin: in no argv), never in a file on the node.
      `  { if [ -n "$key" ]; then printf 'Authorization: Bearer %s\\n' "$key"; fi; }` +
        sh` | curl -s -m 10 -H @- ${`${base}/v1/models`} 2>&1 | block models_json`,
      ...(opts.rdma
        ? [
            sh`  docker logs --tail 5000 ${node.container.name} 2>&1 | grep -o -m1 -E 'NET/(IB|Socket)[^ ]*' | head -n1 | block nccl_net`,
          ]
        : []),
      "fi",
    );
    for (const peer of peers) {
      const targets = [
        { id: "mgmt", address: peer.ssh.host },
        ...peer.dataPlane.map((q, t) => ({ id: `p${t}`, address: q.address })),
      ];
      for (const tg of targets) {
        lines.push(
          // The options the library's own head -> worker SSH uses (pinned key checked, nothing recorded).
          sh`r=$(${["ssh", ...peerSshOptions(peer), `${peer.ssh.user}@${tg.address}`]} true 2>&1 </dev/null); kv ${`peerssh.${peer.name}.${tg.id}`} "$?|$(printf '%s' "$r" | tail -n3)"`,
        );
      }
    }
  }
  return `${lines.join("\n")}\n`;
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
