/**
 * Flags and environment variables the planner owns. `serving.extraArgs` and `serving.extraEnv`
 * may not set them: each has a typed config field (or is derived from the link), and a second
 * copy would silently win or lose depending on vLLM's parser. A test checks that every flag and
 * variable the planner emits is listed here.
 */
export const MANAGED_FLAGS: readonly string[] = [
  "--served-model-name", "--trust-remote-code", "--tensor-parallel-size", "--pipeline-parallel-size",
  "--host", "--port", "--gpu-memory-utilization", "--kv-cache-dtype", "--block-size", "--load-format",
  "--speculative-config", "--enable-auto-tool-choice", "--tool-call-parser", "--reasoning-parser",
  "--tokenizer-mode", "--compilation-config", "--enable-prefix-caching", "--max-cudagraph-capture-size",
  "--max-model-len", "--max-num-seqs", "--max-num-batched-tokens", "--nnodes", "--node-rank",
  "--master-addr", "--master-port", "--headless", "--distributed-executor-backend", "--api-key",
];

/** Where each managed variable comes from, for the error message. */
export const MANAGED_ENV: Readonly<Record<string, string>> = {
  VLLM_HOST_IP: "nodes[].dataPlane[0].address",
  RAY_NODE_IP_ADDRESS: "nodes[].dataPlane[0].address",
  RAY_OVERRIDE_NODE_IP_ADDRESS: "nodes[].dataPlane[0].address",
  UCX_NET_DEVICES: "nodes[].dataPlane[].netdev",
  NCCL_SOCKET_IFNAME: "nodes[].dataPlane[0].netdev",
  GLOO_SOCKET_IFNAME: "nodes[].dataPlane[0].netdev",
  TP_SOCKET_IFNAME: "nodes[].dataPlane[0].netdev",
  OMPI_MCA_btl_tcp_if_include: "nodes[].dataPlane[0].netdev",
  MN_IF_NAME: "nodes[].dataPlane[0].netdev",
  NCCL_IB_HCA: "nodes[].dataPlane[].hca",
  NCCL_IB_DISABLE: "the link (RDMA is always on)",
  NCCL_IB_GID_INDEX: "link.gidPolicy",
  NCCL_IGNORE_CPU_AFFINITY: "the recipe (always 1)",
  MASTER_ADDR: "the head's dataPlane[0].address",
  MASTER_PORT: "link.masterPort",
  UCX_MEM_MMAP_HOOK_MODE: "the UCX leak fix (always on; it cannot be removed)",
  UCX_RCACHE_MAX_UNRELEASED: "the UCX leak fix (always on; it cannot be removed)",
  VLLM_ALLOW_LONG_MAX_MODEL_LEN: "serving.profile.longContextEnv",
  VLLM_SPARSE_INDEXER_MAX_LOGITS_MB: "serving.profile.longContextEnv",
  TILELANG_CLEANUP_TEMP_FILES: "the model's environment",
  VLLM_TRITON_MLA_SPARSE: "the model's environment",
  VLLM_TRITON_MLA_SPARSE_HEAD_BLOCK_SIZE: "the model's environment",
  VLLM_USE_B12X_MOE: "the model's environment",
  RAY_memory_monitor_refresh_ms: "serving.launcher (ray)",
  RAY_num_prestart_python_workers: "serving.launcher (ray)",
  RAY_object_store_memory: "serving.launcher (ray)",
  VLLM_API_KEY: "serving.apiKey (a secret)",
  HF_TOKEN: "model.hfToken (a secret)",
};
