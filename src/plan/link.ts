/**
 * The RoCE link (RECIPE.md "Interconnect", "Post-reboot RoCEv2 GID-index quirk", "Twin ports",
 * "MTU 9000"): per node, the data-plane addresses and MTU applied now and persisted in netplan,
 * a GID check that re-bounces an address whose RoCEv2 GID is missing, and don't-fragment pings
 * over every twin in both directions.
 */
import type { ClusterConfig, NodeConfig } from "../config/schema";
import { subnetString } from "../config/net";
import { fail, removeManagedFile, script, scriptIn, undoScript, undoScriptIn, writeManagedFile } from "../shell/script";
import { hostFile, varBlock } from "../shell/host";
import { sh } from "../shell/sh";
import { hardeningFunctions } from "./host";
import { roceGid } from "./launch";
import { DEFAULT_NAMES, holderFunctions, underHoldersLock } from "./names";
import type { HostNames, HostStep, LinkCheck, LinkPlan } from "./types";

export const NETPLAN_FILE = "/etc/netplan/60-dgx-spark-vllm.yaml";

/** ICMP payload for a don't-fragment ping that exactly fills the MTU (20 B IPv4 + 8 B ICMP). */
export const payloadFor = (mtu: number) => mtu - 28;

export function netplanContent(node: NodeConfig, mtu: number): string {
  const lines = [
    `# Managed by dgx-spark-vllm (node ${node.name}): data-plane ports of the RoCE link.`,
    "network:",
    "  version: 2",
    "  ethernets:",
  ];
  for (const p of node.dataPlane) {
    lines.push(
      `    ${p.netdev}:`,
      "      dhcp4: false",
      "      dhcp6: false",
      "      link-local: []",
      `      mtu: ${mtu}`,
      "      addresses:",
      `        - "${p.address}/${p.prefix}"`,
    );
  }
  return lines.join("\n");
}

/**
 * The variable block and the functions (src/host/gid.sh, src/host/link.sh) in front of every
 * link script: link_check STEP, link_set (needs the MTU), link_gid STEP over this node's
 * data-plane ports.
 */
function linkFunctions(node: NodeConfig, mtu?: number): string[] {
  const ports = node.dataPlane;
  const vars = varBlock({
    NODE: node.name,
    ...(mtu === undefined ? {} : { MTU: mtu }),
    NETDEV: ports.map((q) => q.netdev),
    ADDRESS: ports.map((q) => q.address),
    PREFIX: ports.map((q) => q.prefix),
    HCA: ports.map((q) => q.hca),
    GID: ports.map((q) => roceGid(q.address)),
  });
  return [vars, hostFile("gid.sh").replace(/\n$/, ""), hostFile("link.sh").replace(/\n$/, "")];
}

/**
 * The data-plane ports' addresses and MTU, now and in netplan. A netdev and the netplan file are
 * one per host: recorded in the host-wide journal with their holders, put back by the last one.
 */
export function linkAddressStep(node: NodeConfig, mtu: number, names: HostNames = DEFAULT_NAMES): HostStep {
  const journal = node.dataPlane.flatMap((p) => {
    const cidr = `${p.address}/${p.prefix}`;
    return [
      sh`k="$J"/${`link%${p.netdev}`}`,
      sh`[ -e "$k.mtu" ] || $SUDO tee "$k.mtu" <${`/sys/class/net/${p.netdev}/mtu`} >/dev/null`,
      sh`if [ ! -e "$k.addr" ]; then if grep -qF ${` ${cidr} `} <<<"$(ip -o -4 addr show dev ${p.netdev})";` +
        sh` then echo preexisting; else echo added; fi | $SUDO tee "$k.addr" >/dev/null; fi`,
      sh`hold ${`link%${p.netdev}`}`,
    ];
  });
  const undo = node.dataPlane.flatMap((p) => {
    const cidr = `${p.address}/${p.prefix}`;
    return [
      sh`k="$J"/${`link%${p.netdev}`}`,
      sh`if release ${`link%${p.netdev}`}; then`,
      sh`if [ "$(cat "$k.addr" 2>/dev/null)" = added ]` +
        sh` && grep -qF ${` ${cidr} `} <<<"$(ip -o -4 addr show dev ${p.netdev} 2>/dev/null)";` +
        sh` then $SUDO ip addr del ${cidr} dev ${p.netdev}; fi`,
      sh`if [ -e "$k.mtu" ]; then if ip link show dev ${p.netdev} >/dev/null 2>&1;` +
        sh` then $SUDO ip link set dev ${p.netdev} mtu "$(cat "$k.mtu")"; fi; $SUDO rm -f "$k.mtu"; fi`,
      '$SUDO rm -f "$k.addr"',
      "fi",
    ];
  });
  return {
    id: "link-address",
    description:
      `data-plane ${node.dataPlane.map((p) => `${p.netdev} ${p.address}/${p.prefix}`).join(", ")}` +
      ` at MTU ${mtu}, applied now and persisted in ${NETPLAN_FILE}`,
    create: script(
      ...linkFunctions(node, mtu),
      ...holderFunctions(names),
      "link_check link-address",
      ...underHoldersLock(
        ...journal,
        "link_set",
        writeManagedFile(NETPLAN_FILE, netplanContent(node, mtu), "0600"),
        "hold netplan",
      ),
    ),
    delete: undoScript(
      ...holderFunctions(names),
      ...undo,
      "if release netplan; then",
      removeManagedFile(NETPLAN_FILE),
      "fi",
    ),
    after: [],
  };
}

/**
 * After a reboot the RoCEv2 GID for an address can be missing and NCCL init hangs: re-bounce the
 * address (del + add) and wait for the GID to appear; fail if it does not. Safe to run any time.
 */
export function gidCheckStep(node: NodeConfig): HostStep {
  return {
    id: "gid-check",
    description:
      "RoCEv2 GID present for every data-plane address; re-bounce the address when missing (the post-reboot quirk)",
    create: script(...linkFunctions(node), "link_gid gid-check"),
    delete: undoScript(": # the check changes nothing lasting"),
    after: ["link-address"],
  };
}

/** The boot unit of a cluster without an instance name (`plan.names.linkUnit` in general). */
export const LINK_UNIT = DEFAULT_NAMES.linkUnit;
export const LINK_BOOT_SCRIPT = `${DEFAULT_NAMES.libDir}/link-up.sh`;
export const LINK_SERVICE_FILE = `/etc/systemd/system/${LINK_UNIT}.service`;

/** The hardening the boot unit re-asserts: what the plan's hardening asks for. */
export interface BootHardening {
  readonly swapOff: boolean;
  /** vm.min_free_kbytes; undefined: left alone. */
  readonly minFreeKbytes?: number;
}

/**
 * What the boot unit runs (as root): swap off and vm.min_free_kbytes again when the plan asks
 * for them (an OS update can add a swap line or a sysctl file), then MTU, up, addresses if
 * missing, and the GID re-bounce.
 */
export function linkBootScript(node: NodeConfig, mtu: number, hardening: BootHardening = { swapOff: false }): string {
  const flags = varBlock({
    HARDEN_SWAP_OFF: hardening.swapOff ? 1 : 0,
    HARDEN_MIN_FREE: hardening.minFreeKbytes === undefined ? 0 : 1,
  });
  return [
    "#!/bin/bash",
    `# Managed by dgx-spark-vllm (node ${node.name}): hardening and the RoCE data plane back after a boot.`,
    script(
      ...linkFunctions(node, mtu),
      flags,
      ...hardeningFunctions(hardening.minFreeKbytes),
      hostFile("link-up.sh").replace(/\n$/, ""),
    ),
  ].join("\n");
}

/**
 * Pulumi runs a command once, so nothing it runs comes back after a reboot. This oneshot unit
 * does at every boot what the link steps did: MTU and addresses (even if netplan did not), and
 * the RoCEv2 GID re-bounce for the post-reboot quirk, before anything starts the engine.
 */
export function linkBootStep(
  node: NodeConfig,
  mtu: number,
  hardening?: BootHardening,
  names: HostNames = DEFAULT_NAMES,
): HostStep {
  const unitName = names.linkUnit;
  const bootScript = `${names.libDir}/link-up.sh`;
  const serviceFile = `/etc/systemd/system/${unitName}.service`;
  const unit = [
    "[Unit]",
    "Description=dgx-spark-vllm hardening (swap, min_free_kbytes) and RoCE data plane (MTU, addresses, RoCEv2 GID) after boot",
    "Wants=network-online.target",
    "After=network-online.target",
    "Before=docker.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=${bootScript}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ].join("\n");
  const reasserted = [
    ...(hardening?.swapOff ? ["swap off"] : []),
    ...(hardening?.minFreeKbytes !== undefined ? [`vm.min_free_kbytes=${hardening.minFreeKbytes}`] : []),
    "",
  ].join(", ");
  return {
    id: "link-boot",
    description:
      `${unitName}.service: at every boot re-asserts ${reasserted}` +
      `re-applies the data plane and re-bounces a missing RoCEv2 GID`,
    create: scriptIn(
      names.journal,
      writeManagedFile(bootScript, linkBootScript(node, mtu, hardening), "0755"),
      writeManagedFile(serviceFile, unit),
      "$SUDO systemctl daemon-reload",
      sh`$SUDO systemctl enable ${`${unitName}.service`}`,
    ),
    delete: undoScriptIn(
      names.journal,
      sh`$SUDO systemctl disable --now ${`${unitName}.service`} 2>/dev/null || true`,
      removeManagedFile(serviceFile),
      removeManagedFile(bootScript),
      "$SUDO systemctl daemon-reload",
    ),
    after: ["gid-check"],
  };
}

export function linkSteps(config: ClusterConfig, node: NodeConfig, names: HostNames = DEFAULT_NAMES): HostStep[] {
  const h = config.hardening;
  const gid = gidCheckStep(node);
  return [
    linkAddressStep(node, config.link.mtu, names),
    // IPv6 off first, so the GID table has settled when the check reads it.
    ...(config.link.disableIpv6 ? [ipv6OffStep(node, names), { ...gid, after: [...gid.after, "ipv6-off"] }] : [gid]),
    linkBootStep(node, config.link.mtu, { swapOff: h.swapOff, minFreeKbytes: h.minFreeKbytes }, names),
  ];
}

/** Where `link.disableIpv6` persists its settings (systemd re-applies per-interface keys when a port appears). */
export const IPV6_SYSCTL_FILE = "/etc/sysctl.d/91-dgx-spark-vllm-ipv6.conf";

/** The sysctl key of a netdev's disable_ipv6 (a '.' in an interface name is written '/'). */
export function disableIpv6Key(netdev: string): string {
  return `net.ipv6.conf.${netdev.replace(/\./g, "/")}.disable_ipv6`;
}

/**
 * `link.disableIpv6`: IPv6 off on the data-plane ports, now and across reboots. IPv6 addresses on
 * the ConnectX-7 ports add GID entries and shift the RoCEv2 GID indices; without them the indices
 * stay put. Each port's previous value is journaled and put back on delete.
 */
export function ipv6OffStep(node: NodeConfig, names: HostNames = DEFAULT_NAMES): HostStep {
  const devs = node.dataPlane.map((p) => p.netdev);
  return {
    id: "ipv6-off",
    description: `IPv6 off on ${devs.join(", ")} (keeps the RoCEv2 GID indices stable), persisted in ${IPV6_SYSCTL_FILE}`,
    create: script(
      ...holderFunctions(names),
      ...underHoldersLock(
        ...devs.map(
          (d) =>
            sh`if [ ! -e "$J/ipv6%${d}" ]; then v=$(sysctl -n ${disableIpv6Key(d)}); echo "$v" | $SUDO tee "$J/ipv6%${d}" >/dev/null; fi`,
        ),
        writeManagedFile(
          IPV6_SYSCTL_FILE,
          [
            "# Managed by dgx-spark-vllm: no IPv6 on the data-plane ports (stable RoCEv2 GID indices).",
            ...devs.map((d) => `${disableIpv6Key(d)} = 1`),
          ].join("\n"),
        ),
        "hold ipv6-off",
      ),
      ...devs.map((d) => sh`$SUDO sysctl -q -w ${`${disableIpv6Key(d)}=1`}`),
    ),
    delete: undoScript(
      ...holderFunctions(names),
      // Another cluster on this host that also wants IPv6 off keeps it off.
      "if release ipv6-off; then",
      ...devs.map(
        (d) =>
          // A port that is gone has nothing to restore.
          sh`if [ -e "$J/ipv6%${d}" ]; then $SUDO sysctl -q -w ${`${disableIpv6Key(d)}=`}"$(cat "$J/ipv6%${d}")"` +
          sh` 2>/dev/null || true; $SUDO rm -f "$J/ipv6%${d}"; fi`,
      ),
      removeManagedFile(IPV6_SYSCTL_FILE),
      "fi",
    ),
    after: ["link-address"],
  };
}

/**
 * How the ports of a twin are joined, as far as the config tells: `switch` with more than two nodes
 * on the subnet; `cable-or-switch` with two nodes on a subnet with room for more (e.g. one replica
 * of four Sparks on a /24); `cable` with two nodes on a /30 or /31 (back to back).
 */
export type LinkMedium = "cable" | "cable-or-switch" | "switch";

export function linkMedium(ends: number, prefix: number): LinkMedium {
  if (ends > 2) return "switch";
  return prefix < 30 ? "cable-or-switch" : "cable";
}

/** What to check physically when a port has no carrier or a DF ping gets no answer, by medium. */
export function physicalHint(medium: LinkMedium, mtu: number): string {
  switch (medium) {
    case "switch":
      return `the MTU (${mtu}) on both ends and on the switch ports, and both nodes' cables to the switch`;
    case "cable-or-switch":
      return `the MTU (${mtu}) on both ends and the cable (through a switch: both cables and the switch ports' MTU)`;
    default:
      return `the MTU (${mtu}) on both ends and the cable`;
  }
}

export function pingCheck(
  from: NodeConfig,
  to: NodeConfig,
  twin: number,
  mtu: number,
  medium: LinkMedium = "cable",
): LinkCheck {
  const src = from.dataPlane[twin] as NodeConfig["dataPlane"][number];
  const dst = to.dataPlane[twin] as NodeConfig["dataPlane"][number];
  const payload = payloadFor(mtu);
  const noPing = fail(
    from.name,
    "link-verify",
    `no don't-fragment ping of ${payload} bytes to ${to.name} (${dst.address}) over ${src.netdev}` +
      `: check ${physicalHint(medium, mtu)}`,
  );
  return {
    from: from.name,
    to: to.name,
    twin,
    netdev: src.netdev,
    target: dst.address,
    payloadBytes: payload,
    script: script(sh`ping -M "do" -s ${payload} -c 3 -W 2 -I ${src.netdev} ${dst.address} >/dev/null || ${noPing}`),
  };
}

export function linkPlan(config: ClusterConfig, head: NodeConfig): LinkPlan {
  const nodes = config.nodes;
  const twins = (nodes[0]?.dataPlane ?? []).map((p, t) => ({
    index: t,
    subnet: subnetString(p.address, p.prefix),
    ends: nodes.map((n) => {
      const q = n.dataPlane[t] as NodeConfig["dataPlane"][number];
      return { node: n.name, netdev: q.netdev, hca: q.hca, address: q.address, prefix: q.prefix };
    }),
  }));
  const checks: LinkCheck[] = [];
  for (const from of nodes)
    for (const to of nodes)
      if (from !== to)
        for (const t of twins) {
          const medium = linkMedium(t.ends.length, (t.ends[0] as { prefix: number }).prefix);
          checks.push(pingCheck(from, to, t.index, config.link.mtu, medium));
        }
  return {
    mtu: config.link.mtu,
    gidPolicy: config.link.gidPolicy,
    masterAddr: (head.dataPlane[0] as { address: string }).address,
    masterPort: config.link.masterPort,
    twins,
    checks,
  };
}
