#!/usr/bin/env python3
"""vLLM's own KV capacity for DeepSeek-V4-Flash, from vLLM's own planning code.

Builds the per-layer KV cache specs exactly as vLLM 0.33.0's DeepSeek-V4 layers declare them
(vllm/models/deepseek_v4/attention.py DeepseekV4Attention.get_kv_cache_spec and
DeepseekV4IndexerCache.get_kv_cache_spec, compressor.py CompressorStateCache.get_kv_cache_spec,
v1/attention/backends/mla/sparse_swa.py DeepseekV4SWACache.get_kv_cache_spec; fp8_ds_mla layout,
--block-size 256) for the published config (43 layers, compress_ratios [0, 0, 4, 128, ..., 4] and
one MTP layer, sliding_window 128, head_dim 512, index_head_dim 128), then runs vLLM's grouping
(v1/core/kv_cache_planning.py get_kv_cache_groups, _get_kv_cache_bytes_per_block) and capacity
(v1/core/kv_cache_utils.py get_max_concurrency_for_kv_cache_config, get_kv_cache_capacity).
The config objects are stand-ins carrying only the fields those functions read.

Usage: python scripts/vllm-kv-capacity.py '[{"maxModelLen": 1048576, "availableBytes": 29989273600,
  "maxNumBatchedTokens": 8192, "concurrentBatches": 2}, ...]'   -> one JSON line per case on stdout
(one process for all cases: importing vLLM takes seconds).
"""
import json
import math
import sys
from types import SimpleNamespace as NS

import torch
from vllm.v1.core import kv_cache_planning as P
from vllm.v1.core import kv_cache_utils as U
from vllm.v1.kv_cache_interface import MLAAttentionSpec, SlidingWindowMLASpec
from vllm.v1.kv_cache_layout import KVCacheLayout

def capacity(a):
    L = int(a["maxModelLen"])
    block = int(a.get("blockSize", 256))
    ratios = [0, 0] + [4 if i % 2 == 0 else 128 for i in range(41)] + [0]  # 43 layers + the MTP layer


    def swa(bs, head, dtype, window, **kw):
        return SlidingWindowMLASpec(block_size=bs, num_kv_heads=1, max_tp_shards=1, head_size=head, dtype=dtype,
                                    sliding_window=window, **kw)


    specs = {}
    for i, r in enumerate(ratios):
        specs[f"{i}.swa_cache"] = swa(64, 512, torch.uint8, 128, cache_dtype_str="fp8_ds_mla", state_content_bytes=584,
                                      alignment=576, model_version="deepseek_v4")
        if r > 1:
            specs[f"{i}.attn"] = MLAAttentionSpec(block_size=block, num_kv_heads=1, max_tp_shards=1, head_size=512,
                                                  dtype=torch.uint8, tokens_per_state=r, cache_dtype_str="fp8_ds_mla",
                                                  alignment=576, model_version="deepseek_v4", state_content_bytes=584)
            coff = 1 + (r == 4)
            specs[f"{i}.compressor.state_cache"] = swa(4 if r == 4 else 8, 2 * coff * 512, torch.float32, coff * r,
                                                       alignment=576)
        if r == 4:
            specs[f"{i}.indexer.k_cache"] = MLAAttentionSpec(block_size=block, num_kv_heads=1, max_tp_shards=1,
                                                             head_size=132, dtype=torch.uint8, tokens_per_state=4,
                                                             alignment=576)
            specs[f"{i}.indexer.compressor.state_cache"] = swa(4, 2 * 2 * 128, torch.float32, 8, alignment=576)

    cfg = NS(
        model_config=NS(max_model_len=L),
        parallel_config=NS(decode_context_parallel_size=1, pipeline_parallel_size=1),
        scheduler_config=NS(disable_hybrid_kv_cache_manager=False, max_num_batched_tokens=a["maxNumBatchedTokens"]),
        attention_config=NS(hisparse_config=None),
        cache_config=NS(get_resolved_kv_cache_layout=lambda: KVCacheLayout.BLHNC, num_gpu_blocks_override=None),
        max_in_flight_tokens=a["concurrentBatches"] * a["maxNumBatchedTokens"],
        device_config=NS(device_type="cuda"),
    )
    groups = P.get_kv_cache_groups(cfg, dict(specs))
    bytes_per_block = P._get_kv_cache_bytes_per_block(groups, KVCacheLayout.BLHNC)
    num_blocks = int(a["availableBytes"]) // bytes_per_block
    config = NS(num_blocks=num_blocks, hisparse_host_num_blocks=None,
                kv_cache_groups=[NS(kv_cache_spec=g.kv_cache_spec, host_resident=False) for g in groups])
    tokens, concurrency = U.get_kv_cache_capacity(cfg, config)
    return {
        "bytesPerBlock": bytes_per_block,
        "numBlocks": num_blocks,
        "groups": [{"layers": len(g.layer_names), "blocksPerRequest": math.ceil(
            g.kv_cache_spec.max_memory_usage_bytes(cfg) / g.kv_cache_spec.page_size_bytes)} for g in groups],
        "maxConcurrency": concurrency,
        "kvCacheTokens": tokens,
    }


for case in json.loads(sys.argv[1]):
    print(json.dumps(capacity(case)))
