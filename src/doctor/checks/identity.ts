/**
 * Doctor's identity and access checks on one node: is it a Spark, is its kernel sound, can the
 * library use sudo and docker there.
 */
import { REQUIRED_COMPUTE_CAP } from "../../plan/service";
import type { NodeCtx } from "./common";

/** The node is a Spark: a GB10 GPU at the required compute capability, on aarch64. */
export function identityCheck({ node, get, add }: NodeCtx): void {
  const n = node.name;
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
}

/** The kernel is not a known-bad version (plan.hardening.knownBad). */
export function kernelCheck({ plan, node, get, add }: NodeCtx): void {
  const n = node.name;
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
}

/** The SSH user has passwordless sudo. */
export function sudoCheck({ node, get, add }: NodeCtx): void {
  const n = node.name;
  const user = node.ssh.user;
  const sudo = get("sudo");
  add({
    id: "sudo",
    node: n,
    status: sudo === "ok" ? "PASS" : "FAIL",
    title: "passwordless sudo",
    evidence: sudo === "ok" ? `sudo -n works for ${user}` : sudo || "no answer",
    ...(sudo === "ok" ? {} : { fix: `echo '${user} ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/${user}` }),
  });
}

/** The SSH user reaches docker, and docker has the NVIDIA runtime. */
export function dockerCheck({ node, get, add }: NodeCtx): void {
  const n = node.name;
  const user = node.ssh.user;
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
}
