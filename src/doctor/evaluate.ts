/**
 * `doctor`'s judgement, pure: what each node's probe read (src/doctor/probe.ts), or why it could
 * not connect, becomes a list of checks, each PASS / WARN / FAIL with the node, the evidence (the
 * value read) and, for a FAIL (and a WARN with something to do), the fix. Thresholds come from the
 * plan (RECIPE.md): GB10 12.1, aarch64, the link MTU, 200 Gb/s ports, min_free_kbytes, swap off,
 * the memory the engine needs to start, the serving port, the profile's max_model_len.
 *
 * A check is judged only on what its probe step read: a step that timed out (a hung docker, a
 * wedged driver, a hung mount) makes its checks FAIL as "not answering", with a fix for that, and
 * a step the probe never reached (cut off) makes them FAIL as "not checked"; neither is ever
 * judged from the values that are missing.
 */
import { LINK_UNIT, linkMedium, NETPLAN_FILE } from "../plan/link";
import { REQUIRED_COMPUTE_CAP, WEIGHTS_DISK_GB, IMAGE_DISK_GB } from "../plan/service";
import type { ClusterPlan, NodePlan } from "../plan/types";
import { classifySshText, type SshFailure } from "../ssh/failure";

export { classifySshText };

export type Status = "PASS" | "WARN" | "FAIL";

export interface Check {
  readonly id: string;
  /** Node name, or `cluster` for checks across nodes. */
  readonly node: string;
  readonly status: Status;
  readonly title: string;
  /** The value(s) read. */
  readonly evidence: string;
  /** What repairs it (always set for FAIL). */
  readonly fix?: string;
  /**
   * Set when the FAIL is no verdict: the step that reads this check's values timed out ("not
   * answering") or was never reached ("not checked"). `repair` acts only on real verdicts.
   */
  readonly unanswered?: "not answering" | "not checked";
}

/** What a node's probe gave: its values, or the classified SSH failure. */
export type NodeResult =
  | { readonly ok: true; readonly values: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly failure: SshFailure };

/**
 * An unchanged `pulumi up` re-runs no host or link step (their inputs did not change): host drift
 * is repaired by `repair`, which re-runs the plan's own steps for the failing checks.
 */
/** The repair command named in fixes; `evaluate` replaces it with the one for the stack in use. */
export const REPAIR_CMD = "dgx-spark-vllm repair --stack <stack>";
const LINK_FIX = `sudo systemctl restart ${LINK_UNIT}.service (re-applies MTU and addresses, re-bounces a missing GID), or ${REPAIR_CMD}`;
/** PSI "some avg10" above this is memory pressure worth a warning (percent of time stalled). */
export const PSI_WARN_AVG10 = 5;
/** Link speed of a ConnectX-7 port on a Spark, Mb/s. */
export const EXPECTED_SPEED_MBPS = 200000;

/** How far a node's probe got with one step (src/doctor/probe.ts). */
export type StepState =
  | { readonly state: "done" }
  | { readonly state: "timeout"; readonly command: string; readonly seconds: string }
  | { readonly state: "missing" };

/** A step's state from the probe's markers: `@timeout.<step>`, `@step.<step> done`, `@probe.complete`. */
export function stepState(v: ReadonlyMap<string, string>, step: string): StepState {
  const t = v.get(`timeout.${step}`);
  if (t !== undefined) {
    const [command = "a command", seconds = "?"] = t.split(" ");
    return { state: "timeout", command, seconds };
  }
  return v.has(`step.${step}`) || v.has("probe.complete") ? { state: "done" } : { state: "missing" };
}

/** The probe steps whose values a node check reads. */
function stepsOf(id: string): string[] {
  const port = /^(?:netdev|address|mtu|gid|ipv6)\.(\d+)$/.exec(id);
  if (port) return [`port.${port[1]}`];
  const ping = /^df-ping\.(\d+)\.(.+)$/.exec(id);
  if (ping) return [`ping.${ping[2]}.${ping[1]}`];
  const peer = /^peer-ssh\.(.+)$/.exec(id);
  if (peer) return [`peerssh.${peer[1]}`];
  const fixed: Record<string, string[]> = {
    identity: ["identity"],
    kernel: ["identity"],
    sudo: ["sudo"],
    docker: ["docker"],
    persist: ["persist"],
    "min-free-kbytes": ["hardening"],
    swap: ["hardening"],
    disk: ["disk", "models"],
    weights: ["models"],
    memory: ["memory"],
    port: ["listen"],
    health: ["serving"],
    "max-model-len": ["serving"],
    rdma: ["serving"],
  };
  return fixed[id] ?? [];
}

/** What to do about a command that did not answer on a node. */
function hangFix(command: string, node: string): string {
  if (command === "docker")
    return `the docker daemon on ${node} is not answering: sudo systemctl restart docker (journalctl -u docker says why it hung), then run doctor again`;
  if (command === "nvidia-smi")
    return `the GPU driver on ${node} is not answering (nvidia-smi hangs): check dmesg; a reboot clears a wedged driver`;
  return `${command} hangs on ${node}: find what it waits for (a hung mount, daemon or driver), then run doctor again`;
}

/** A check whose step did not give an answer: FAIL, never judged from the missing values. */
function unanswered(c: Check, st: Exclude<StepState, { state: "done" }>): Check {
  if (st.state === "timeout")
    return {
      ...c,
      status: "FAIL",
      evidence: `not answering: ${st.command} did not answer within ${st.seconds} s`,
      fix: hangFix(st.command, c.node),
      unanswered: "not answering",
    };
  return {
    ...c,
    status: "FAIL",
    evidence: "not checked: the probe ended before this step (cut off by the session timeout or a lost connection)",
    fix: "run doctor again; if this recurs, a command of an earlier step hangs on the node (doctor --json shows which)",
    unanswered: "not checked",
  };
}

function gib(kb: number): string {
  return `${(kb / 1024 / 1024).toFixed(1)} GiB`;
}

/**
 * The checks for a probed cluster. `repairCommand` is the repair invocation the fixes name (the
 * CLI passes the one for the stack or file doctor read, so it can be pasted as is).
 */
export function evaluate(
  plan: ClusterPlan,
  results: ReadonlyMap<string, NodeResult>,
  repairCommand: string = REPAIR_CMD,
): Check[] {
  const checks = evaluateChecks(plan, results);
  if (repairCommand === REPAIR_CMD) return checks;
  return checks.map((c) => (c.fix ? { ...c, fix: c.fix.replaceAll(REPAIR_CMD, repairCommand) } : c));
}

function evaluateChecks(plan: ClusterPlan, results: ReadonlyMap<string, NodeResult>): Check[] {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const values = new Map<string, ReadonlyMap<string, string>>();

  for (const node of plan.nodes) {
    const r = results.get(node.name);
    const target = `${node.ssh.user}@${node.ssh.host}:${node.ssh.port}`;
    if (!r?.ok) {
      const f = r && !r.ok ? r.failure : { kind: "other" as const, detail: "not checked", fix: "" };
      add({
        id: "ssh",
        node: node.name,
        status: "FAIL",
        title: "SSH (BatchMode) to the management address",
        evidence: `${target}: ${f.kind}: ${f.detail}`,
        fix: f.fix || "check the host is up and reachable",
      });
      continue;
    }
    const v = r.values;
    values.set(node.name, v);
    add({
      id: "ssh",
      node: node.name,
      status: "PASS",
      title: "SSH (BatchMode) to the management address",
      evidence: `${target} (host ${v.get("host") ?? ""})`,
    });
    nodeChecks(plan, node, v, add);
  }
  clusterChecks(plan, values, add);
  return checks;
}

function nodeChecks(
  plan: ClusterPlan,
  node: NodePlan,
  v: ReadonlyMap<string, string>,
  addCheck: (c: Check) => void,
): void {
  // Every check goes through here: one whose step did not answer is reported as such.
  const add = (c: Check) => {
    const st = stepsOf(c.id)
      .map((s) => stepState(v, s))
      .find((x): x is Exclude<StepState, { state: "done" }> => x.state !== "done");
    addCheck(st ? unanswered(c, st) : c);
  };
  const get = (k: string) => v.get(k) ?? "";
  const n = node.name;
  const user = node.ssh.user;
  // Identity.
  const gpu = get("gpu");
  const isGb10 = /GB10/.test(gpu) && gpu.trim().endsWith(`, ${REQUIRED_COMPUTE_CAP}`);
  const arm = get("arch") === "aarch64";
  add({
    id: "identity",
    node: n,
    status: isGb10 && arm ? "PASS" : "FAIL",
    title: `Spark identity: GB10 GPU (compute capability ${REQUIRED_COMPUTE_CAP}) on aarch64`,
    evidence: `gpu '${gpu}', arch ${get("arch")}`,
    ...(isGb10 && arm
      ? {}
      : {
          fix: `nodes '${n}' must be a DGX Spark: check its ssh.host points at the Spark (nvidia-smi should say NVIDIA GB10, ${REQUIRED_COMPUTE_CAP})`,
        }),
  });
  // Known-bad host versions (plan.hardening.knownBad).
  const kernel = get("kernel");
  const bad = plan.hardening.knownBad.find((k) => k.what === "kernel" && k.version === kernel);
  add({
    id: "kernel",
    node: n,
    status: !bad ? "PASS" : bad.acknowledged ? "WARN" : "FAIL",
    title: "kernel is not a known-bad version",
    evidence: bad ? `kernel ${kernel}: ${bad.breaks} (${bad.source})` : `kernel ${kernel || "unknown"}`,
    ...(bad
      ? {
          fix: bad.acknowledged
            ? `acknowledged in hardening.acknowledgeKnownBad (${bad.id}); ${bad.fix}`
            : `${bad.fix}; or accept it with hardening.acknowledgeKnownBad: [${bad.id}]`,
        }
      : {}),
  });
  // Access.
  const sudo = get("sudo");
  add({
    id: "sudo",
    node: n,
    status: sudo === "ok" ? "PASS" : "FAIL",
    title: "passwordless sudo",
    evidence: sudo === "ok" ? `sudo -n works for ${user}` : sudo || "no answer",
    ...(sudo === "ok" ? {} : { fix: `echo '${user} ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/${user}` }),
  });
  const dockerOk = get("docker") === "ok";
  const nvidia = get("docker_nvidia") === "yes";
  add({
    id: "docker",
    node: n,
    status: dockerOk && nvidia ? "PASS" : "FAIL",
    title: "docker access and the NVIDIA runtime",
    evidence: dockerOk ? `docker answers; nvidia runtime ${nvidia ? "registered" : "missing"}` : get("docker"),
    ...(dockerOk && nvidia
      ? {}
      : {
          fix: dockerOk
            ? "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker"
            : `sudo usermod -aG docker ${user} (then log in again), and check systemctl status docker`,
        }),
  });

  // Data plane, per port.
  node.dataPlane.forEach((p, t) => {
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
      return;
    }
    const medium = linkMedium(plan.link.twins[t]?.ends.length ?? 2, p.prefix);
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
                : `no carrier on ${p.netdev}: check the QSFP cable on both Sparks${medium === "cable-or-switch" ? " (through a switch: both cables and the switch ports)" : ""} and 'ibdev2netdev' (expect Up)`,
          }
        : speedOk
          ? {}
          : {
              fix: `expected ${EXPECTED_SPEED_MBPS} Mb/s: check the cable is a 200G QSFP112 DAC and both ports negotiated it (ethtool ${p.netdev})`,
            }),
    });
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
      node: n,
      status: problems.length ? "FAIL" : "PASS",
      title: `data-plane address ${cidr}: present, unique, connected route, no default route`,
      evidence: problems.length ? problems.join("; ") : `${cidr} on ${p.netdev}; route '${route}'`,
      ...(problems.length ? { fix } : {}),
    });
    if (node.linkSteps.some((x) => x.id === "ipv6-off")) {
      const off = get(`p${t}.ipv6off`);
      add({
        id: `ipv6.${t}`,
        node: n,
        status: off === "1" ? "PASS" : "FAIL",
        title: `IPv6 off on ${p.netdev} (link.disableIpv6)`,
        evidence: `disable_ipv6 ${off || "unknown"}`,
        ...(off === "1"
          ? {}
          : { fix: `sudo sysctl -w net.ipv6.conf.${p.netdev.replace(/\./g, "/")}.disable_ipv6=1, or ${REPAIR_CMD}` }),
      });
    }
    const mtu = get(`p${t}.mtu`);
    add({
      id: `mtu.${t}`,
      node: n,
      status: mtu === String(plan.link.mtu) ? "PASS" : "FAIL",
      title: `MTU ${plan.link.mtu} on ${p.netdev}`,
      evidence: `mtu ${mtu}`,
      ...(mtu === String(plan.link.mtu)
        ? {}
        : { fix: `${LINK_FIX} (or sudo ip link set dev ${p.netdev} mtu ${plan.link.mtu})` }),
    });
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
              fix: `the MTU must be ${plan.link.mtu} on both ends of twin ${t}${medium === "switch" ? " and on the switch ports" : medium === "cable-or-switch" ? " (and on the switch ports, through a switch)" : ""} and the cable${medium === "switch" ? "s to the switch" : ""} up: ${LINK_FIX} on ${n} and ${peer.name}`,
            }),
      });
    }
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
  });

  // Persistent network config: netplan file and the boot unit.
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
    node: n,
    status: persistProblems.length ? "FAIL" : "PASS",
    title: "data plane persisted across reboots (netplan file and boot unit)",
    evidence: persistProblems.length
      ? persistProblems.join("; ")
      : `${NETPLAN_FILE} valid; ${plan.names.linkUnit}.service enabled`,
    ...(persistProblems.length
      ? { fix: `${REPAIR_CMD} (re-runs the link steps: rewrites the netplan file, re-enables the unit)` }
      : {}),
  });

  // Hardening.
  const mfk = Number(get("min_free_kbytes"));
  const mfkOk = Number.isFinite(mfk) && mfk >= plan.hardening.minFreeKbytes;
  add({
    id: "min-free-kbytes",
    node: n,
    status: mfkOk ? "PASS" : "FAIL",
    title: `vm.min_free_kbytes >= ${plan.hardening.minFreeKbytes} (a UMA OOM stays recoverable)`,
    evidence: `vm.min_free_kbytes = ${get("min_free_kbytes")}`,
    ...(mfkOk
      ? {}
      : {
          fix: `sudo sysctl -w vm.min_free_kbytes=${plan.hardening.minFreeKbytes}, or ${REPAIR_CMD} (also persists it)`,
        }),
  });
  if (plan.hardening.swapOff) {
    const swaps = get("swaps").trim();
    add({
      id: "swap",
      node: n,
      status: swaps ? "FAIL" : "PASS",
      title: "swap off",
      evidence: swaps ? `active swap: ${swaps}` : "no active swap",
      ...(swaps
        ? { fix: `sudo swapoff -a, or ${REPAIR_CMD} (also comments the fstab swap lines out: it stays off)` }
        : {}),
    });
  }

  // The weights' record: the revision verified on this node (not for delivery local: the engine verifies nothing there at start; pulumi up does).
  if (plan.model.delivery !== "local" && stepState(v, "models").state === "done") {
    const w = get("weights");
    const m =
      /^revision ([0-9a-f]{40}): (\d+)\/(\d+) files present with the right size, (.*?); (last full verification passed|not verified)$/.exec(
        w,
      );
    const pinned = plan.model.revision;
    const complete = m !== null && m[2] === m[3] && m[5] === "last full verification passed";
    const right = m !== null && (pinned === undefined || !/^[0-9a-f]{40}$/.test(pinned) || m[1] === pinned);
    add({
      id: "weights",
      node: n,
      status: complete && right ? "PASS" : "WARN",
      title: `${plan.model.id} weights verified${pinned ? ` at ${pinned}` : ""}`,
      evidence: w || "no answer",
      ...(complete && right
        ? {}
        : {
            fix:
              m !== null && !right
                ? `the node holds revision ${m[1]}, the config pins ${pinned}: pulumi up fetches and verifies the pinned one`
                : "pulumi up downloads (or copies) what is missing and verifies every file",
          }),
    });
  }

  // Disk and memory before start.
  const avail = Number(get("disk_avail_gb"));
  const hasModel = get("models") === "present";
  // Without docker's answer the image is not counted (and the evidence says so).
  const imageKnown = stepState(v, "image").state === "done";
  const hasImage = !imageKnown || get("image").startsWith("sha256:");
  const need = (hasModel ? 0 : WEIGHTS_DISK_GB) + (hasImage ? 0 : IMAGE_DISK_GB);
  add({
    id: "disk",
    node: n,
    status: avail >= need ? "PASS" : "WARN",
    title: "free disk for the weights and the image",
    evidence: `${avail} GB free under ${get("disk_path")}, need ${need} GB${imageKnown ? "" : " (the image not counted: docker did not answer)"}`,
    ...(avail >= need
      ? {}
      : { fix: `free ${need - avail} GB under ${get("disk_path")} (docker system prune, old Hugging Face snapshots)` }),
  });
  const engine = get("engine");
  const engineState = stepState(v, "engine");
  const memKb = Number(get("memavailable_kb"));
  const budget = plan.memory.nodes.find((b) => b.node === n);
  const needGiB = budget?.start.needsGiB ?? 0;
  const psi = /avg10=([\d.]+)/.exec(get("psi"));
  const psi10 = psi ? Number(psi[1]) : 0;
  if (engine === "running") {
    const alertKb = plan.hardening.umaAlertThresholdGb * 1024 * 1024;
    add({
      id: "memory",
      node: n,
      status: memKb >= alertKb ? "PASS" : "WARN",
      title: "free unified memory while serving",
      evidence: `MemAvailable ${gib(memKb)} (engine running; alert below ${plan.hardening.umaAlertThresholdGb} GiB); PSI ${get("psi")}`,
      ...(memKb >= alertKb
        ? {}
        : {
            fix: "headroom is low: lower serving.gpuMemoryUtilization or max_num_seqs in the stack config and pulumi up",
          }),
    });
  } else {
    const enough = memKb / 1024 / 1024 >= needGiB;
    // Engine state unknown (docker did not answer): too little to start is a WARN, since a running
    // engine uses that memory.
    const known = engineState.state === "done";
    const status: Status = !enough ? (known ? "FAIL" : "WARN") : psi10 > PSI_WARN_AVG10 ? "WARN" : "PASS";
    add({
      id: "memory",
      node: n,
      status,
      title: `free unified memory before start (the engine needs ${needGiB.toFixed(1)} GiB)`,
      evidence: `MemAvailable ${gib(memKb)} of ${gib(Number(get("memtotal_kb")))}; PSI ${get("psi")}${known ? "" : "; engine state unknown (docker did not answer)"}`,
      ...(status === "PASS"
        ? {}
        : {
            fix: !enough
              ? "free memory before starting: stop other GPU/memory users (docker ps, nvidia-smi), sync; echo 3 | sudo tee /proc/sys/vm/drop_caches; a reboot clears leaked UMA"
              : "memory pressure before start: find the process under pressure (top, /proc/pressure/memory) before starting",
          }),
    });
  }

  if (node.role === "head") {
    const listen = get("listen");
    const portOk = !listen || engine === "running";
    const portCheck = (c: Check) =>
      add(listen && engineState.state !== "done" && c.status !== "PASS" ? unanswered(c, engineState) : c);
    portCheck({
      id: "port",
      node: n,
      status: portOk ? "PASS" : "FAIL",
      title: `serving port ${plan.cluster.port} free or held by our engine`,
      evidence: !listen
        ? `port ${plan.cluster.port} free`
        : engine === "running"
          ? `held by ${node.container.name}`
          : `held while ${node.container.name} is not running: '${listen}'`,
      ...(portOk
        ? {}
        : {
            fix: `stop what listens on ${plan.cluster.port} (sudo ss -ltnp 'sport = :${plan.cluster.port}'), or set serving.port`,
          }),
    });
    if (engine === "running") {
      const health = get("health");
      add({
        id: "health",
        node: n,
        status: health === "200" ? "PASS" : "FAIL",
        title: "engine /health",
        evidence: `HTTP ${health}`,
        ...(health === "200"
          ? {}
          : { fix: `docker logs ${node.container.name} on ${n}; pulumi up restarts the service` }),
      });
      const mm = /"max_model_len"\s*:\s*(\d+)/.exec(get("models_json"));
      const okLen = mm?.[1] === String(plan.profile.maxModelLen);
      add({
        id: "max-model-len",
        node: n,
        status: okLen ? "PASS" : "FAIL",
        title: `served max_model_len = ${plan.profile.maxModelLen} (profile ${plan.profile.name})`,
        evidence: mm ? `max_model_len ${mm[1]}` : `no max_model_len in /v1/models: ${get("models_json").slice(0, 120)}`,
        ...(okLen
          ? {}
          : {
              fix: "the running engine is not this stack's profile: pulumi up with this stack (or pulumi stack select the one that runs)",
            }),
      });
      if (v.has("nccl_net")) {
        const net = get("nccl_net");
        add({
          id: "rdma",
          node: n,
          status: net.startsWith("NET/IB") ? "PASS" : net.startsWith("NET/Socket") ? "FAIL" : "WARN",
          title: "NCCL uses RDMA (NET/IB)",
          evidence: net || "no NET/ line in the engine log (needs NCCL_DEBUG=INFO)",
          ...(net.startsWith("NET/IB")
            ? {}
            : {
                fix: net
                  ? "NCCL fell back to TCP: check NCCL_IB_HCA, the GID and the link (this report), then pulumi up"
                  : "add NCCL_DEBUG=INFO to serving.extraEnv to see the transport",
              }),
        });
      }
    }
    for (const peer of plan.nodes.filter((o) => o.name !== n)) {
      const targets = [
        { id: "mgmt", address: peer.ssh.host, what: "management" },
        ...peer.dataPlane.map((q, t) => ({ id: `p${t}`, address: q.address, what: `data-plane ${q.netdev}` })),
      ];
      for (const tg of targets) {
        const raw = get(`peerssh.${peer.name}.${tg.id}`);
        const [code, ...rest] = raw.split("|");
        const msg = rest.join("|");
        const ok = code === "0";
        const cls = ok ? undefined : classifySshText(msg);
        add({
          id: `peer-ssh.${peer.name}.${tg.id}`,
          node: n,
          status: ok ? "PASS" : tg.id === "mgmt" ? "FAIL" : "WARN",
          title: `SSH (BatchMode) ${n} -> ${peer.name} ${tg.what} address ${tg.address}`,
          evidence: ok ? "passwordless login works" : `${cls?.kind}: ${msg || `exit ${code}`}`,
          ...(ok
            ? {}
            : {
                fix:
                  cls?.kind === "auth"
                    ? `the image copy and the watchdog need ${n} -> ${peer.name} SSH: on ${n} run ssh-copy-id ${peer.ssh.user}@${tg.address}`
                    : (cls?.fix ?? ""),
              }),
        });
      }
    }
  }
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
function pinnedGidCheck(
  n: string,
  p: NodePlan["dataPlane"][number],
  t: number,
  index: number,
  pinned: string,
  now: string | undefined,
): Check {
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

function clusterChecks(
  plan: ClusterPlan,
  values: ReadonlyMap<string, ReadonlyMap<string, string>>,
  add: (c: Check) => void,
): void {
  if (values.size === 0) return;
  const per = (k: string) => [...values].map(([n, v]) => ({ node: n, value: v.get(k) ?? "" }));
  /** A cluster check whose step did not answer on some node: FAIL naming those nodes, no verdict. */
  const unansweredOn = (id: string, title: string, step: string): boolean => {
    const open = [...values]
      .map(([node, v]) => ({ node, st: stepState(v, step) }))
      .filter((x): x is { node: string; st: Exclude<StepState, { state: "done" }> } => x.st.state !== "done");
    if (open.length === 0) return false;
    const what = (x: (typeof open)[number]) =>
      x.st.state === "timeout"
        ? `${x.node}: ${x.st.command} did not answer within ${x.st.seconds} s`
        : `${x.node}: not checked (the probe ended before this step)`;
    const first = open[0] as (typeof open)[number];
    const check: Check = { id, node: first.node, status: "FAIL", title, evidence: "" };
    add({
      ...unanswered(check, first.st),
      node: "cluster",
      evidence: `${first.st.state === "timeout" ? "not answering" : "not checked"}: ${open.map(what).join("; ")}`,
    });
    return true;
  };
  // Image.
  const images = per("image");
  const present = images.filter((i) => i.value.startsWith("sha256:"));
  const ids = new Set(present.map((i) => i.value));
  const evidence = images.map((i) => `${i.node} ${i.value === "none" ? "absent" : i.value.slice(0, 19)}`).join(", ");
  const head = plan.nodes.find((n) => n.role === "head") as NodePlan;
  if (unansweredOn("image", `identical image ${plan.image.tag} on every node`, "image")) {
    // No verdict without every node's answer.
  } else if (present.length === 0) {
    add({
      id: "image",
      node: "cluster",
      status: "WARN",
      title: `image ${plan.image.tag} on every node`,
      evidence: `absent on every node (not deployed yet)`,
      fix: "pulumi up builds and distributes it",
    });
  } else if (ids.size > 1 || present.length < images.length) {
    add({
      id: "image",
      node: "cluster",
      status: "FAIL",
      title: `identical image ${plan.image.tag} on every node`,
      evidence,
      fix: `pulumi up re-copies it from ${head.name}, or on ${head.name}: docker save ${plan.image.tag} | ssh <worker> docker load`,
    });
  } else {
    add({
      id: "image",
      node: "cluster",
      status: "PASS",
      title: `identical image ${plan.image.tag} on every node`,
      evidence,
    });
  }
  // Model files.
  const models = per("model_files");
  const withModel = models.filter((m) => m.value.trim() !== "");
  const summary = (s: string) => {
    const files = s.split("\n").filter(Boolean);
    const bytes = files.reduce((a, l) => a + Number(l.split(" ")[0]), 0);
    return `${files.length} files, ${(bytes / 1e9).toFixed(1)} GB`;
  };
  if (unansweredOn("model-files", `${plan.model.id} files identical on every node (names and sizes)`, "models")) {
    // No verdict without every node's answer.
  } else if (withModel.length === 0) {
    add({
      id: "model-files",
      node: "cluster",
      status: "WARN",
      title: `${plan.model.id} files on every node`,
      evidence: "not downloaded on any node yet",
      fix: "pulumi up prefetches them",
    });
  } else {
    const ref = (withModel[0] as { value: string }).value;
    const differ = models.filter((m) => m.value !== ref);
    let detail = "";
    if (differ.length) {
      const a = new Set(ref.split("\n"));
      const d = differ[0] as { node: string; value: string };
      const b = new Set(d.value.split("\n"));
      const onlyA = [...a].filter((x) => x && !b.has(x));
      const onlyB = [...b].filter((x) => x && !a.has(x));
      detail = `; first difference: ${(withModel[0] as { node: string }).node} has '${onlyA[0] ?? "-"}', ${d.node} has '${onlyB[0] ?? "-"}'`;
    }
    add({
      id: "model-files",
      node: "cluster",
      status: differ.length ? "FAIL" : "PASS",
      title: `${plan.model.id} files identical on every node (names and sizes)`,
      evidence: models.map((m) => `${m.node} ${m.value.trim() ? summary(m.value) : "absent"}`).join(", ") + detail,
      ...(differ.length
        ? {
            fix: "pulumi up re-runs the prefetch (it completes partial downloads); delete a corrupt snapshot folder first",
          }
        : {}),
    });
  }
  // Ranks.
  const engines = plan.nodes.map((n) => ({ node: n.name, state: values.get(n.name)?.get("engine") ?? "unknown" }));
  const running = engines.filter((e) => e.state === "running");
  const alone = running.length > 0 && running.length < plan.nodes.length;
  // A lone rank among the nodes that answered is a FAIL; otherwise no verdict while one is unknown.
  if (!alone && unansweredOn("ranks", "no rank running alone", "engine")) return;
  add({
    id: "ranks",
    node: "cluster",
    status: alone ? "FAIL" : "PASS",
    title: "no rank running alone",
    evidence: engines.map((e) => `${e.node} ${e.state || "absent"}`).join(", "),
    ...(alone
      ? {
          fix: `a lone rank waits forever in NCCL: remove it (${running.map((r) => `on ${r.node}: docker rm -f ${plan.nodes.find((n) => n.name === r.node)?.container.name}`).join("; ")}) and pulumi up to start all ranks together`,
        }
      : {}),
  });
}
