set -uo pipefail
export LC_ALL=C
key=; IFS= read -r key || true
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
kv() { printf '@%s %s\n' "$1" "$(printf '%s' "$2" | tr '\r\n' '  ' | sed 's/ *$//')"; }
block() { printf '@%s<\n' "$1"; cat; printf '\n@>\n'; }
exec 3>&1
STEP=; DOCKER_HUNG=
step() { if [ -n "$STEP" ]; then printf '@step.%s done\n' "$STEP"; fi; STEP=$1; }
t() {
  local s=$1 rc=0; shift
  timeout -k 1 "$s" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then printf '@timeout.%s %s %s\n' "$STEP" "$1" "$s" >&3; return 124; fi
  return "$rc"
}
dk() {
  if [ -n "$DOCKER_HUNG" ]; then printf '@timeout.%s docker %s\n' "$STEP" 6 >&3; return 124; fi
  t 6 docker "$@"
}
# roce_gid_index HCA GID [SYSFS]: print the index of GID on HCA port 1 when its type is RoCE v2 (RECIPE.md
# "Post-reboot RoCEv2 GID-index quirk"); fail, printing nothing, when there is none. Used by the
# container's start (link.gidPolicy: resolve), the link steps, the boot unit and doctor.
roce_gid_index() {
  local dev="${3:-/sys}/class/infiniband/$1/ports/1" f i
  for f in "$dev"/gids/*; do
    i=${f##*/}
    if [ "$(cat "$f" 2>/dev/null)" = "$2" ] && [ "$(cat "$dev/gid_attrs/types/$i" 2>/dev/null)" = "RoCE v2" ]; then echo "$i"; return 0; fi
  done
  return 1
}
step identity
kv host "$(uname -n)"
kv user "$(id -un)"
kv arch "$(uname -m)"
kv kernel "$(uname -r)"
if command -v nvidia-smi >/dev/null; then kv gpu "$(t 10 nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>&1 | head -n1)"; else kv gpu "nvidia-smi not found"; fi
step sudo
if [ -z "$SUDO" ] || t 5 sudo -n true 2>/dev/null; then kv sudo ok; else kv sudo "$(t 5 sudo -n true 2>&1 | head -n1)"; fi
step docker
out=$(dk info --format '{{json .Runtimes}}' 2>&1); rc=$?
if [ "$rc" -eq 0 ]; then kv docker ok; case "$out" in *nvidia*) kv docker_nvidia yes ;; *) kv docker_nvidia no ;; esac
elif [ "$rc" -eq 124 ]; then DOCKER_HUNG=1
else kv docker "$(printf '%s' "$out" | head -n1)"; fi
step port.0
d=/sys/class/net/enp1s0f1np1
if [ -e "$d" ]; then kv p0.exists yes; kv p0.operstate "$(cat "$d"/operstate)"; kv p0.carrier "$(cat "$d"/carrier 2>/dev/null || echo 0)"; kv p0.speed "$(cat "$d"/speed 2>/dev/null || echo unknown)"; kv p0.mtu "$(cat "$d"/mtu)"; else kv p0.exists no; fi
kv p0.addrs "$(t 5 ip -o -4 addr show dev enp1s0f1np1 2>/dev/null | awk '{print $4}')"
kv p0.holders "$(t 5 ip -o -4 addr show to 10.0.0.1/32 | awk '{print $2}')"
kv p0.route "$(t 5 ip -o -4 route show to exact 10.0.0.0/30 2>/dev/null | head -n1)"
kv p0.default "$(t 5 ip -o -4 route show default dev enp1s0f1np1 2>/dev/null | head -n1)"
if g=$(roce_gid_index rocep1s0f1 0000:0000:0000:0000:0000:ffff:0a00:0001 2>/dev/null); then kv p0.gid "$g"; else kv p0.gid none; fi
step ping.spark-worker.0
if t 5 ping -M "do" -s 8972 -c 2 -i 0.2 -W 1 -I enp1s0f1np1 10.0.0.2 >/dev/null 2>&1; then kv ping.spark-worker.0 ok; else kv ping.spark-worker.0 fail; fi
step port.1
d=/sys/class/net/enP2p1s0f1np1
if [ -e "$d" ]; then kv p1.exists yes; kv p1.operstate "$(cat "$d"/operstate)"; kv p1.carrier "$(cat "$d"/carrier 2>/dev/null || echo 0)"; kv p1.speed "$(cat "$d"/speed 2>/dev/null || echo unknown)"; kv p1.mtu "$(cat "$d"/mtu)"; else kv p1.exists no; fi
kv p1.addrs "$(t 5 ip -o -4 addr show dev enP2p1s0f1np1 2>/dev/null | awk '{print $4}')"
kv p1.holders "$(t 5 ip -o -4 addr show to 10.0.1.1/32 | awk '{print $2}')"
kv p1.route "$(t 5 ip -o -4 route show to exact 10.0.1.0/30 2>/dev/null | head -n1)"
kv p1.default "$(t 5 ip -o -4 route show default dev enP2p1s0f1np1 2>/dev/null | head -n1)"
if g=$(roce_gid_index roceP2p1s0f1 0000:0000:0000:0000:0000:ffff:0a00:0101 2>/dev/null); then kv p1.gid "$g"; else kv p1.gid none; fi
step ping.spark-worker.1
if t 5 ping -M "do" -s 8972 -c 2 -i 0.2 -W 1 -I enP2p1s0f1np1 10.0.1.2 >/dev/null 2>&1; then kv ping.spark-worker.1 ok; else kv ping.spark-worker.1 fail; fi
step persist
# shellcheck disable=SC2086 # $SUDO is empty or the two words "sudo -n"
if t 5 $SUDO test -e /etc/netplan/60-dgx-spark-vllm.yaml; then kv netplan present; t 5 $SUDO cat /etc/netplan/60-dgx-spark-vllm.yaml 2>&1 | block netplan_content; else kv netplan absent; fi
kv linkunit "$(t 5 systemctl is-enabled dgx-spark-vllm-link.service 2>/dev/null | head -n1)"
step hardening
kv min_free_kbytes "$(t 5 sysctl -n vm.min_free_kbytes 2>&1)"
kv swaps "$(t 5 swapon --show=NAME --noheadings --raw 2>&1)"
step image
kv image "$(dk image inspect --format '{{.Id}}' eugr/spark-vllm-b12x:latest 2>/dev/null || echo none)"
step models
m=/home/spark/.cache/huggingface/hub/models--deepseek-ai--DeepSeek-V4-Flash-0731; if [ -d "$m/snapshots" ]; then kv models present; (cd "$m/snapshots" && t 10 find -L . -type f -printf '%s %P\n' | sort -k2) | block model_files; else kv models none; fi
kv weights "$(t 10 python3 -c '# The weights on this node as doctor reports them (src/doctor/probe.ts), read-only and without
# hashing: the revision present, how many of its files have the size the manifest says, the bytes,
# and whether the last full verification (src/host/weights.py) passed. One line on stdout.
# usage: weights-status.py MODELDIR [REVISION]    (no revision: the one last verified here)
import json
import os
import sys

d = sys.argv[1]
rev = sys.argv[2] if len(sys.argv) > 2 else ""
meta = os.path.join(d, "dgx-spark-vllm")
if not rev:
    try:
        with open(os.path.join(meta, "current.json")) as fh:
            rev = json.load(fh)["revision"]
    except (OSError, ValueError, KeyError):
        print("revision none: no verified weights on this node")
        sys.exit(0)
try:
    with open(os.path.join(meta, f"manifest-{rev}.json")) as fh:
        files = json.load(fh)["files"]
except (OSError, ValueError, KeyError):
    print(f"revision {rev}: not present")
    sys.exit(0)
ok = have = total = 0
for f in files:
    p = os.path.join(d, "snapshots", rev, f["path"])
    size = os.path.getsize(p) if os.path.exists(p) else 0
    ok += size == f["size"]
    have += size
    total += f["size"]
verified = os.path.exists(os.path.join(meta, f"verified-{rev}.json"))
print(
    f"revision {rev}: {ok}/{len(files)} files present with the right size, {have / 1e9:.2f} GB of {total / 1e9:.2f} GB; "
    + ("last full verification passed" if verified else "not verified")
)
' /home/spark/.cache/huggingface/hub/models--deepseek-ai--DeepSeek-V4-Flash-0731 '' 2>&1 | tail -n1)"
step disk
d=/home/spark/.cache/huggingface; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; kv disk_path "$d"; kv disk_avail_gb "$(t 10 df -P -BG "$d" | awk 'NR==2 {print int($4)}')"
step memory
kv memavailable_kb "$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
kv memtotal_kb "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
kv psi "$(head -n1 /proc/pressure/memory 2>/dev/null || echo unavailable)"
step engine
kv engine "$(dk ps -a --filter 'name=^/dgx-spark-vllm-spark-head$' --format '{{.State}}' 2>/dev/null | head -n1)"
step exposure
{ if [ -n "$SUDO" ]; then t 5 sudo -n ss -ltnupH 2>/dev/null; else t 5 ss -ltnupH; fi || t 5 ss -ltnuH 2>/dev/null; } | block listeners
step listen
kv listen "$(t 5 ss -Hltn 'sport = :8000' 2>/dev/null | head -n1)"
step serving
if [ "$(dk ps -a --filter 'name=^/dgx-spark-vllm-spark-head$' --format '{{.State}}' 2>/dev/null | head -n1)" = running ]; then
  kv health "$(t 12 curl -s -o /dev/null -w '%{http_code}' -m 5 http://127.0.0.1:8000/health 2>/dev/null || echo none)"
  { if [ -n "$key" ]; then printf 'Authorization: Bearer %s\n' "$key"; fi; } | t 12 curl -s -m 10 -H @- http://127.0.0.1:8000/v1/models 2>&1 | block models_json
  dk logs --tail 5000 dgx-spark-vllm-spark-head 2>&1 | grep -o -m1 -E 'NET/(IB|Socket)[^ ]*' | head -n1 | block nccl_net
fi
step peerssh.spark-worker.mgmt
r=$(t 15 ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@spark-worker.local true 2>&1 </dev/null); kv peerssh.spark-worker.mgmt "$?|$(printf '%s' "$r" | tail -n3)"
step peerssh.spark-worker.p0
r=$(t 15 ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@10.0.0.2 true 2>&1 </dev/null); kv peerssh.spark-worker.p0 "$?|$(printf '%s' "$r" | tail -n3)"
step peerssh.spark-worker.p1
r=$(t 15 ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -p 22 spark@10.0.1.2 true 2>&1 </dev/null); kv peerssh.spark-worker.p1 "$?|$(printf '%s' "$r" | tail -n3)"
step ""
printf '@probe.complete\n'
