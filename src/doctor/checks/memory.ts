/**
 * Doctor's memory checks on one node: the hardening that keeps a unified-memory OOM recoverable
 * (vm.min_free_kbytes, swap off), free disk for the weights and the image, and free unified memory
 * before start or while serving.
 */
import { IMAGE_DISK_GB, WEIGHTS_DISK_GB } from "../../plan/service";
import { gib, type NodeCtx, PSI_WARN_AVG10, REPAIR_CMD, type Status, stepState } from "./common";

/** vm.min_free_kbytes is at least the plan's. */
export function minFreeKbytesCheck({ plan, node, get, add }: NodeCtx): void {
  const n = node.name;
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
}

/** No swap is active, where the plan turns swap off. */
export function swapCheck({ plan, node, get, add }: NodeCtx): void {
  const n = node.name;
  if (!plan.hardening.swapOff) return;
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

/** Enough free disk for the weights and the image that are not there yet. */
export function diskCheck({ node, v, get, add }: NodeCtx): void {
  const n = node.name;
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
}

/** Enough free unified memory: what the engine needs to start, or the alert threshold while it serves. */
export function memoryCheck({ plan, node, v, get, add }: NodeCtx): void {
  const n = node.name;
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
      evidence:
        `MemAvailable ${gib(memKb)} of ${gib(Number(get("memtotal_kb")))}` +
        `; PSI ${get("psi")}${known ? "" : "; engine state unknown (docker did not answer)"}`,
      ...(status === "PASS"
        ? {}
        : {
            fix: !enough
              ? "free memory before starting: stop other GPU/memory users (docker ps, nvidia-smi)" +
                ", sync; echo 3 | sudo tee /proc/sys/vm/drop_caches" +
                "; a reboot clears leaked UMA"
              : "memory pressure before start: find the process under pressure (top, /proc/pressure/memory) before starting",
          }),
    });
  }
}
