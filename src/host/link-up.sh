#!/usr/bin/env bash
# What the boot unit runs as root (src/plan/link.ts renders it): MTU, up, addresses if missing,
# then the RoCEv2 GID re-bounce. Inputs: link.sh's, with gid.sh and link.sh in front.
link_check link-boot
link_set
link_gid link-boot
echo "dgx-spark-vllm: node $NODE: data plane up at MTU $MTU"
