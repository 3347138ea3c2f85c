/**
 * Model delivery (`model.delivery`, docs/weights.md): what each node runs so the weights are on its
 * disk and verified before the engine starts.
 * - `each`: every node downloads into its own Hugging Face cache with the image's huggingface_hub.
 * - `head-then-copy` (the default for two nodes or more): the head downloads; for every other node
 *   the head pushes its verified files over SSH to that node's data-plane addresses (one stream per
 *   twin port), then verifies them there against the same manifest. A copy that cannot finish
 *   falls back to that node's own download, so the mode is never less safe than `each`.
 * - `local`: `model.localPath` already holds the model on every node; it is verified, nothing is
 *   fetched, the engine runs with HF_HUB_OFFLINE=1.
 * Every file's size and hash is checked against the hub's metadata for the revision (the manifest
 * the download writes next to the cache); a bad file is fetched or copied again, never served.
 * The work is src/host/weights.py, run by src/host/weights.sh.
 */
import { hostFile, hostScript, type ShellVar } from "../shell/host";
import { script } from "../shell/script";
import { peerSshOptions } from "./access";
import { CONTAINER_CACHE } from "./container";
import type { ClusterPlan, HostStep, NodePlan } from "./types";

/** The model's folder in a node's Hugging Face cache (`<hf>/hub/models--<org>--<name>`). */
export function weightsDir(plan: ClusterPlan, node: NodePlan): string {
  return `${node.cache.huggingface}/hub/models--${plan.model.id.replace(/\//g, "--")}`;
}

function weightsScript(vars: Readonly<Record<string, ShellVar>>): string {
  return hostScript({
    head: ["#!/bin/bash", "set -euo pipefail"],
    vars: { ...vars, PY: hostFile("weights.py") },
    files: ["weights.sh"],
  });
}

/** Download and verify into `node`'s cache (delivery `each`, and the head of `head-then-copy`). stdin: the HF token or nothing. */
export function weightsFetchScript(plan: ClusterPlan, node: NodePlan): string {
  return weightsScript({
    NODE: node.name,
    MODE: "fetch",
    REPO: plan.model.id,
    REVISION: plan.model.revision ?? "",
    IMAGE: plan.image.tag,
    HOST_HF: node.cache.huggingface,
    CONTAINER_HF: CONTAINER_CACHE.huggingface,
    HUB_ENDPOINT: plan.model.hubEndpoint ?? "",
  });
}

/** Run on `from` (the head): push its verified weights to `target` over the target's data-plane addresses. */
export function weightsCopyScript(plan: ClusterPlan, from: NodePlan, target: NodePlan): string {
  return weightsScript({
    NODE: from.name,
    MODE: "copy",
    REVISION: plan.model.revision ?? "",
    SRC_DIR: weightsDir(plan, from),
    TARGET: target.name,
    TARGET_USER: target.ssh.user,
    TARGET_DIR: weightsDir(plan, target),
    ADDRS: target.dataPlane.map((p) => p.address).join(","),
    PEER_SSH: peerSshOptions(target),
    TARGET_HOST: target.ssh.host,
    // The target's own download, run there over SSH when the copy cannot finish (the token on stdin).
    FALLBACK_B64: Buffer.from(weightsFetchScript(plan, target)).toString("base64"),
  });
}

/** Verify the local copy on `node` (delivery `local`); no network. */
export function weightsLocalScript(plan: ClusterPlan, node: NodePlan): string {
  return weightsScript({
    NODE: node.name,
    MODE: "local",
    LOCAL_PATH: plan.model.localPath ?? "",
    REVISION: plan.model.revision ?? "",
  });
}

/** Where a node's weights step runs and what it waits for. */
export interface WeightsStep extends HostStep {
  /** The node whose SSH connection runs the step (the head for a copy). */
  readonly runsOn: string;
  /** The node whose weights step must finish first (the head's download, for a copy). */
  readonly waitsFor?: string;
  /** Whether the step reads the HF token on stdin. */
  readonly needsToken: boolean;
}

const KEEP = ": # the weights are kept (data); remove them by hand if you want the space back";

/** The weights step of `node` for the plan's delivery. */
export function weightsStep(plan: ClusterPlan, node: NodePlan): WeightsStep {
  const head = plan.nodes.find((n) => n.name === plan.cluster.head) as NodePlan;
  const rev = plan.model.revision ? ` at ${plan.model.revision}` : "";
  const keep = script(KEEP);
  if (plan.model.delivery === "local")
    return {
      id: "weights-local",
      description: `verify the local copy of ${plan.model.id} under ${plan.model.localPath} (no hub access)`,
      create: weightsLocalScript(plan, node),
      delete: keep,
      after: [],
      runsOn: node.name,
      needsToken: false,
    };
  if (plan.model.delivery === "head-then-copy" && node.name !== head.name)
    return {
      id: "weights-copy",
      description:
        `copy ${plan.model.id}${rev} from ${head.name} over ${node.dataPlane.map((p) => p.address).join(", ")}` +
        ` and verify it, else download it on ${node.name} (kept on delete: the weights are data)`,
      create: weightsCopyScript(plan, head, node),
      delete: keep,
      after: [],
      runsOn: head.name,
      waitsFor: head.name,
      // Only for the fallback: the node's own download when the copy cannot finish.
      needsToken: true,
    };
  return {
    id: "prefetch",
    description: `download ${plan.model.id}${rev} into ${node.cache.huggingface} and verify it (kept on delete: the weights are data)`,
    create: weightsFetchScript(plan, node),
    delete: keep,
    after: [],
    runsOn: node.name,
    needsToken: true,
  };
}
