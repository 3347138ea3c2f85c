/**
 * Doctor's data-plane checks on one node: per port the interface, its address, IPv6, MTU, the
 * don't-fragment pings to every peer and the RoCEv2 GID; then the netplan file and the boot unit
 * that keep all of it across reboots.
 */
import { linkMedium, NETPLAN_FILE } from "../../plan/link";
import type { NodePlan } from "../../plan/types";
import { type Check, EXPECTED_SPEED_MBPS, LINK_FIX, type NodeCtx, REPAIR_CMD, stepState } from "./common";

type Port = NodePlan["dataPlane"][number];

/** Every data-plane port's checks, in port order; a port whose interface is missing gets no others. */
export function dataPlaneChecks(ctx: NodeCtx): void {
  ctx.node.dataPlane.forEach((p, t) => {
    if (!netdevCheck(ctx, p, t)) return;
    addressCheck(ctx, p, t);
    ipv6Check(ctx, p, t);
    mtuCheck(ctx, p, t);
    dfPingChecks(ctx, p, t);
    gidCheck(ctx, p, t);
  });
}

/** Cable or switch, as the fixes word it. */
function mediumOf({ plan }: NodeCtx, p: Port, t: number) {
  return linkMedium(plan.link.twins[t]?.ends.length ?? 2, p.prefix);
}

/** The interface exists, has carrier and runs at a Spark port's speed. False: it does not exist. */
function netdevCheck(ctx: NodeCtx, p: Port, t: number): boolean {
  const { node, v, get, add } = ctx;
  const n = node.name;
  const port = `${p.netdev} (${p.hca})`;
  if (stepState(v, `port.${t}`).state === "done" && get(`p${t}.exists`) !== "yes") {
    add({
      id: `netdev.${t}`,
      node: n,
      status: "FAIL",
      title: `data-plane interface ${p.netdev}`,
      evidence: `${p.netdev} does not exist`,
      fix: `check dataPlane[${t}].netdev of node ${n} against 'ibdev2netdev' on the host`,
    });
    return false;
  }
  const medium = mediumOf(ctx, p, t);
  const carrier = get(`p${t}.carrier`) === "1" && get(`p${t}.operstate`) === "up";
  const speed = get(`p${t}.speed`);
  const speedOk = speed === String(EXPECTED_SPEED_MBPS);
  add({
    id: `netdev.${t}`,
    node: n,
    status: !carrier ? "FAIL" : speedOk ? "PASS" : "WARN",
    title: `data-plane interface ${port}: carrier and speed`,
    evidence: `operstate ${get(`p${t}.operstate`)}, carrier ${get(`p${t}.carrier`)}, speed ${speed} Mb/s`,
    ...(!carrier
      ? {
          fix:
            medium === "switch"
              ? `no carrier on ${p.netdev}: check ${n}'s QSFP cable to the switch, that its switch port is enabled, and 'ibdev2netdev' (expect Up)`
              : `no carrier on ${p.netdev}: check the QSFP cable on both Sparks` +
                `${medium === "cable-or-switch" ? " (through a switch: both cables and the switch ports)" : ""}` +
                ` and 'ibdev2netdev' (expect Up)`,
        }
      : speedOk
        ? {}
        : {
            fix: `expected ${EXPECTED_SPEED_MBPS} Mb/s: check the cable is a 200G QSFP112 DAC and both ports negotiated it (ethtool ${p.netdev})`,
          }),
  });
  return true;
}

/** The port's address: present, on no other interface, with a connected route, and no default route. */
function addressCheck({ plan, node, get, add }: NodeCtx, p: Port, t: number): void {
  const cidr = `${p.address}/${p.prefix}`;
  const addrs = get(`p${t}.addrs`).split(" ").filter(Boolean);
  const holders = get(`p${t}.holders`).split(" ").filter(Boolean);
  const others = holders.filter((h) => h !== p.netdev);
  const route = get(`p${t}.route`);
  const dflt = get(`p${t}.default`);
  const problems: string[] = [];
  let fix = LINK_FIX;
  if (!addrs.includes(cidr)) problems.push(`${cidr} not on ${p.netdev}`);
  if (others.length > 0) {
    problems.push(`${p.address} also on ${others.join(", ")}`);
    fix = `remove ${p.address} from ${others.join(", ")} (sudo ip addr del ${p.address}/<prefix> dev ${others[0]}), then ${LINK_FIX}`;
  }
  if (addrs.includes(cidr) && !route.includes(`dev ${p.netdev}`))
    problems.push(`no connected route for ${plan.link.twins[t]?.subnet ?? cidr} on ${p.netdev}`);
  if (dflt) {
    problems.push(`a default route goes through the data plane: '${dflt}'`);
    fix = `sudo ip route del default dev ${p.netdev} (and remove it from the host's network config: the data plane must carry only the link subnet)`;
  }
  add({
    id: `address.${t}`,
    node: node.name,
    status: problems.length ? "FAIL" : "PASS",
    title: `data-plane address ${cidr}: present, unique, connected route, no default route`,
    evidence: problems.length ? problems.join("; ") : `${cidr} on ${p.netdev}; route '${route}'`,
    ...(problems.length ? { fix } : {}),
  });
}

/** IPv6 is off on the port, where the plan turns it off (link.disableIpv6). */
function ipv6Check({ node, get, add }: NodeCtx, p: Port, t: number): void {
  if (!node.linkSteps.some((x) => x.id === "ipv6-off")) return;
  const off = get(`p${t}.ipv6off`);
  add({
    id: `ipv6.${t}`,
    node: node.name,
    status: off === "1" ? "PASS" : "FAIL",
    title: `IPv6 off on ${p.netdev} (link.disableIpv6)`,
    evidence: `disable_ipv6 ${off || "unknown"}`,
    ...(off === "1"
      ? {}
      : { fix: `sudo sysctl -w net.ipv6.conf.${p.netdev.replace(/\./g, "/")}.disable_ipv6=1, or ${REPAIR_CMD}` }),
  });
}

/** The port's MTU is the link's. */
function mtuCheck({ plan, node, get, add }: NodeCtx, p: Port, t: number): void {
  const mtu = get(`p${t}.mtu`);
  add({
    id: `mtu.${t}`,
    node: node.name,
    status: mtu === String(plan.link.mtu) ? "PASS" : "FAIL",
    title: `MTU ${plan.link.mtu} on ${p.netdev}`,
    evidence: `mtu ${mtu}`,
    ...(mtu === String(plan.link.mtu)
      ? {}
      : { fix: `${LINK_FIX} (or sudo ip link set dev ${p.netdev} mtu ${plan.link.mtu})` }),
  });
}

/** A full-size don't-fragment ping answers from every peer's address on the same twin. */
function dfPingChecks(ctx: NodeCtx, p: Port, t: number): void {
  const { plan, node, get, add } = ctx;
  const n = node.name;
  const medium = mediumOf(ctx, p, t);
  for (const peer of plan.nodes.filter((o) => o.name !== n)) {
    const q = peer.dataPlane[t];
    if (!q) continue;
    const ok = get(`ping.${peer.name}.${t}`) === "ok";
    add({
      id: `df-ping.${t}.${peer.name}`,
      node: n,
      status: ok ? "PASS" : "FAIL",
      title: `don't-fragment ping at MTU ${plan.link.mtu} to ${peer.name} (${q.address}) over ${p.netdev}`,
      evidence: ok
        ? `${plan.link.mtu - 28}-byte DF ping answered`
        : `no answer to a ${plan.link.mtu - 28}-byte DF ping`,
      ...(ok
        ? {}
        : {
            fix: `the MTU must be ${plan.link.mtu} on both ends of twin ${t}${
              medium === "switch"
                ? " and on the switch ports"
                : medium === "cable-or-switch"
                  ? " (and on the switch ports, through a switch)"
                  : ""
            } and the cable${medium === "switch" ? "s to the switch" : ""} up: ${LINK_FIX} on ${n} and ${peer.name}`,
          }),
    });
  }
}

/** The port has a RoCEv2 GID for its address (or, with a pinned index, that index holds it). */
function gidCheck({ plan, node, get, add }: NodeCtx, p: Port, t: number): void {
  const n = node.name;
  const gid = get(`p${t}.gid`);
  const gidOk = /^\d+$/.test(gid);
  const pin = plan.link.gidPolicy;
  if (typeof pin === "object") {
    add(pinnedGidCheck(n, p, t, pin.index, get(`p${t}.pinned`), gidOk ? gid : undefined));
    return;
  }
  add({
    id: `gid.${t}`,
    node: n,
    status: gidOk ? "PASS" : "FAIL",
    title: `RoCEv2 GID for ${p.address} on ${p.hca}`,
    evidence: gidOk
      ? `GID index ${gid}`
      : `no RoCEv2 GID entry for ${p.address} (the post-reboot quirk: NCCL init would hang)`,
    ...(gidOk ? {} : { fix: LINK_FIX }),
  });
}

/** The RoCEv2 GID of an IPv4 address as the kernel lists it: ::ffff:a.b.c.d, in full. */
export function ipv4MappedGid(address: string): string {
  const hex = address.split(".").map((o) => Number(o).toString(16).padStart(2, "0"));
  return `0000:0000:0000:0000:0000:ffff:${hex[0]}${hex[1]}:${hex[2]}${hex[3]}`;
}

/**
 * `link.gidPolicy: { index }`: NCCL uses that index as it is, so the entry there must be this
 * port's RoCEv2 GID. `pinned` is the probe's `<gid>|<type>` of that entry; `now` is the index
 * that holds the RoCEv2 GID (undefined: none does).
 */
function pinnedGidCheck(n: string, p: Port, t: number, index: number, pinned: string, now: string | undefined): Check {
  const want = ipv4MappedGid(p.address);
  const [gid = "", type = ""] = pinned.split("|");
  const ok = gid === want && type === "RoCE v2";
  const title = `pinned GID index ${index} (link.gidPolicy) holds the RoCEv2 GID of ${p.address} on ${p.hca}`;
  if (ok) return { id: `gid.${t}`, node: n, status: "PASS", title, evidence: `GID index ${index}: ${gid} (${type})` };
  const held = gid ? `'${gid}' (${type || "no type"})` : "nothing";
  const where =
    now === undefined
      ? `no index holds the RoCEv2 GID of ${p.address}`
      : `the RoCEv2 GID of ${p.address} is at index ${now}`;
  const fix =
    now === undefined
      ? `${LINK_FIX}; then check the index again (or set link.gidPolicy to 'resolve' and pulumi up)`
      : `NCCL_IB_GID_INDEX=${index} would hang NCCL init: set link.gidPolicy to 'resolve' ` +
        `(finds the index at every start), or to { index: ${now} }, and pulumi up`;
  const evidence = `GID index ${index} holds ${held}; ${where}`;
  return { id: `gid.${t}`, node: n, status: "FAIL", title, evidence, fix };
}

/** The data plane survives a reboot: the netplan file lists every port with the MTU, and the boot unit is enabled. */
export function persistCheck({ plan, node, get, add }: NodeCtx): void {
  const netplan = get("netplan");
  const content = get("netplan_content");
  const missing = node.dataPlane
    .filter(
      (p) => !content.includes(`"${p.address}/${p.prefix}"`) || !new RegExp(`^\\s+${p.netdev}:`, "m").test(content),
    )
    .map((p) => p.netdev);
  const mtuOk = new RegExp(`^\\s+mtu: ${plan.link.mtu}$`, "m").test(content);
  const unit = get("linkunit");
  const persistProblems = [
    ...(netplan !== "present" ? [`${NETPLAN_FILE} absent`] : []),
    ...(netplan === "present" && missing.length ? [`${NETPLAN_FILE} lacks ${missing.join(", ")}`] : []),
    ...(netplan === "present" && !mtuOk ? [`${NETPLAN_FILE} does not set mtu: ${plan.link.mtu}`] : []),
    ...(unit !== "enabled" ? [`${plan.names.linkUnit}.service ${unit || "not installed"}`] : []),
  ];
  add({
    id: "persist",
    node: node.name,
    status: persistProblems.length ? "FAIL" : "PASS",
    title: "data plane persisted across reboots (netplan file and boot unit)",
    evidence: persistProblems.length
      ? persistProblems.join("; ")
      : `${NETPLAN_FILE} valid; ${plan.names.linkUnit}.service enabled`,
    ...(persistProblems.length
      ? { fix: `${REPAIR_CMD} (re-runs the link steps: rewrites the netplan file, re-enables the unit)` }
      : {}),
  });
}
