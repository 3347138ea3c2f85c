#!/usr/bin/env bash
# Holders of a shared host setting (src/plan/names.ts): swap, vm.min_free_kbytes, a data-plane
# netdev, the cache folders, an image tag are one per host, however many clusters use them. The
# first cluster's create records the original in the host-wide journal ($J); each cluster adds
# itself to KEY's holder list; a delete takes itself off and restores the original only when no
# other cluster still holds the setting. A record without a holder list (written before holders
# existed) has one implicit holder: its delete restores, as it always did.
# Inputs, rendered in front of this file: HOLDER (this cluster's name), SUDO, J.

# holders_lock / holders_unlock: one cluster at a time changes a holder list (two destroys at once
# must not both see the other still holding), and a create records the original of a shared
# setting and adds itself as a holder in one go (two clusters' first `up` at once must not both
# find no record, the second then recording the value the first had already changed). Nested
# calls keep the one lock. A lock left by a killed run is taken after 30 s.
HOLDERS_LOCK_DEPTH=0
holders_lock() {
  local i
  HOLDERS_LOCK_DEPTH=$((HOLDERS_LOCK_DEPTH + 1))
  [ "$HOLDERS_LOCK_DEPTH" -eq 1 ] || return 0
  for ((i = 0; i < 300; i++)); do $SUDO mkdir "$J/.holders.lock" 2>/dev/null && return 0; sleep 0.1; done
  echo "dgx-spark-vllm: $J/.holders.lock held for 30 s (a run killed while holding it?): going on" >&2
}
holders_unlock() {
  HOLDERS_LOCK_DEPTH=$((HOLDERS_LOCK_DEPTH - 1))
  [ "$HOLDERS_LOCK_DEPTH" -le 0 ] || return 0
  HOLDERS_LOCK_DEPTH=0
  $SUDO rmdir "$J/.holders.lock" 2>/dev/null || true
}

# hold KEY: this cluster holds the shared setting KEY ($J/KEY.holders, one name a line).
hold() {
  local f="$J/$1.holders"
  holders_lock
  grep -qxF -- "$HOLDER" "$f" 2>/dev/null || printf '%s\n' "$HOLDER" | $SUDO tee -a "$f" >/dev/null
  holders_unlock
}

# release KEY: this cluster no longer holds KEY. Exit 0 when nobody holds it any more (the caller
# puts the original back); exit 1, and says who, while another cluster still holds it.
release() {
  local f="$J/$1.holders" rest
  holders_lock
  if [ ! -e "$f" ]; then holders_unlock; return 0; fi
  rest=$(grep -vxF -- "$HOLDER" "$f" || true)
  if [ -n "$rest" ]; then
    printf '%s\n' "$rest" | $SUDO tee "$f" >/dev/null
    holders_unlock
    echo "dgx-spark-vllm: $1 stays as it is: still held by $(printf '%s' "$rest" | tr '\n' ' ' | sed 's/ $//')" >&2
    return 1
  fi
  $SUDO rm -f "$f"
  holders_unlock
  return 0
}
