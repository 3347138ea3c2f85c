/**
 * Node memory as data. GB10: one unified pool shared by the OS, the page cache, the CUDA context,
 * the weights and the KV cache. Figures from RECIPE.md ("Unified memory", "Beyond the recipe").
 */
export interface NodeMemorySpec {
  /** Accelerator name, for messages. */
  readonly name: string;
  /** Total memory vLLM sees (`torch.cuda.mem_get_info` total), GiB. */
  readonly visibleGiB: number;
  /**
   * Used outside vLLM's `util x total` budget while serving (OS, CUDA context, NCCL/UCX buffers,
   * non-torch allocations), GiB. Calibrated: total - budget - measured free at util 0.80 was
   * 16.3 GiB (1M, ~8 GB free) and 17.3 GiB (512K, ~7 GB free); the mean is used.
   */
  readonly outsideBudgetGiB: number;
  /**
   * Used before vLLM starts (OS and services, desktop stopped), GiB. An assumption, not a
   * measurement: public configs start at util 0.88-0.90, which bounds it below ~9 GiB with the
   * 3 GiB min_free_kbytes reserve. Set `nodes[].memory.startBaselineGiB` from `free -g` on yours.
   */
  readonly startBaselineGiB: number;
}

export const gb10: NodeMemorySpec = {
  name: "GB10",
  visibleGiB: 121.7,
  outsideBudgetGiB: 16.84,
  startBaselineGiB: 4,
};
