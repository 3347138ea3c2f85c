/**
 * Host versions known to break a deployment, as data: what breaks, the fix and the public source.
 * Preflight refuses a matching host and doctor FAILs it, unless the config acknowledges the entry
 * by id (`hardening.acknowledgeKnownBad`), when both only warn.
 */
export interface KnownBadHost {
  /** Stable id, as `hardening.acknowledgeKnownBad` names it. */
  readonly id: string;
  /** What is compared: `kernel` is `uname -r`. */
  readonly what: "kernel";
  /** The exact version that breaks. */
  readonly version: string;
  /** What breaks. */
  readonly breaks: string;
  /** What to do. */
  readonly fix: string;
  readonly source: string;
}

export const KNOWN_BAD_HOSTS: readonly KnownBadHost[] = [
  {
    id: "kernel-7.0.0-1019-nvidia",
    what: "kernel",
    version: "7.0.0-1019-nvidia",
    breaks: "NCCL over RoCE fails at init: ibv_reg_mr_iova2 fails with ENOMEM (Cannot allocate memory)",
    fix: "boot the installed 6.17.0-1032-nvidia kernel (reported working) until a fixed kernel ships",
    source:
      "eugr/spark-vllm-docker issue #392; MiaAI-Lab/DeepSeek-v4.1-Flash-DGX-Sparks issue #14 (NCCL ENOMEM on 7.0.0-1019; works with 6.17.0-1032)",
  },
];
