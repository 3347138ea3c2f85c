/**
 * The image plan (RECIPE.md "The image"): a source build on the head for linux/arm64 from the
 * Dockerfile in docker/, with the build facts as build args and labels; or a prebuilt reference.
 * Either way every node must end up with the same image ID.
 */
import type { ClusterConfig } from "../config/schema";
import type { ImagePlan } from "./types";
import { presetRef } from "./variant";
import { imageVllmPlan } from "./vllm-surface";

export const LABEL_PREFIX = "io.github.dgx-spark-vllm";

export function imagePlan(config: ClusterConfig, head: string): ImagePlan {
  const nodes = config.nodes.map((n) => n.name);
  const img = config.image;
  const vllm = imageVllmPlan(img);
  if (img.source === "prebuilt") return { source: "prebuilt", tag: img.ref, distribute: "pull", nodes, vllm };
  if (img.source === "preset")
    return {
      source: "prebuilt",
      tag: presetRef(img.name, img.digest),
      distribute: "pull",
      preset: img.name,
      pinned: img.digest !== undefined,
      nodes,
      vllm,
    };
  const buildArgs: Record<string, string> = {
    BASE_IMAGE: img.baseImage,
    BUILD_JOBS: String(img.buildJobs),
    CUDA_ARCH: img.arch,
    FLASHINFER_REF: img.flashinferRef,
    FLASHINFER_REPO: img.flashinferRepo,
    NCCL_REF: img.ncclRef,
    TORCH_INDEX_URL: img.torchIndexUrl,
    TORCH_VERSION: img.torchVersion,
    VLLM_PR: img.prs.length > 0 ? String(img.prs[0]) : "",
    VLLM_REF: img.vllmRef,
    VLLM_REPO: img.vllmRepo,
  };
  const labels: Record<string, string> = {
    [`${LABEL_PREFIX}.vllm-ref`]: img.vllmRef,
    [`${LABEL_PREFIX}.vllm-prs`]: img.prs.join(","),
    [`${LABEL_PREFIX}.flashinfer-ref`]: img.flashinferRef,
    [`${LABEL_PREFIX}.nccl-ref`]: img.ncclRef,
    [`${LABEL_PREFIX}.cuda-arch`]: img.arch,
    [`${LABEL_PREFIX}.torch`]: img.torchVersion,
  };
  return {
    source: "build",
    tag: img.tag,
    buildNode: head,
    platform: "linux/arm64",
    context: "docker",
    dockerfile: "docker/Dockerfile",
    buildArgs,
    labels,
    distribute: "save-load",
    nodes,
    vllm,
  };
}
