#!/usr/bin/env bash
# What the boot unit runs as root (src/plan/link.ts renders it): the hardening a boot can undo
# (swap off, vm.min_free_kbytes; each only when the plan asks for it), then MTU, up, addresses if
# missing, and the RoCEv2 GID re-bounce. Inputs: link.sh's, with gid.sh and link.sh in front;
# HARDEN_SWAP_OFF (1 or 0) and HARDEN_MIN_FREE (1 or 0), with hardening.sh and its inputs.
if [ "$HARDEN_MIN_FREE" = 1 ]; then min_free_kbytes_set; fi
if [ "$HARDEN_SWAP_OFF" = 1 ]; then swap_off; fi
link_check link-boot
link_set
link_gid link-boot
echo "dgx-spark-vllm: node $NODE: data plane up at MTU $MTU"
