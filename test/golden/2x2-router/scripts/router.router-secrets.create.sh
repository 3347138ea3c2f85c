set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
CONTAINER=dgx-spark-vllm-router.service
SECRETS_DIR=/var/lib/dgx-spark-vllm/secrets/dgx-spark-vllm-router.service
SECRETS_FILE=/var/lib/dgx-spark-vllm/secrets/dgx-spark-vllm-router.service/secrets.env
SECRET_NAMES=(VLLM_API_KEY)
JOURNAL_KEY=secrets%dgx-spark-vllm-router.service
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
# A container's secrets file (src/plan/secrets-file.ts renders the variables in front of this file
# for the secrets-file step, after journal.sh for its holders' lock). Inputs: SUDO, J (the host's
# undo journal), CONTAINER, SECRETS_DIR, SECRETS_FILE, SECRET_NAMES (array), JOURNAL_KEY. The values
# arrive on stdin only, one line per name in SECRET_NAMES order; none is ever in an argument or printed.

# secrets_quote VALUE: VALUE single-quoted for a POSIX shell (every ' becomes '\'').
secrets_quote() {
  printf "'%s'" "${1//\'/\'\\\'\'}"
}

# secrets_file_write: read the values from stdin and write SECRETS_FILE as NAME='value' lines:
# the folder root's and 0700 (its parent too), the file 0600, replaced in one rename. The folders
# made for it are noted in the journal for secrets_file_remove.
secrets_file_write() {
  local k v out=
  for k in "${SECRET_NAMES[@]}"; do
    if ! IFS= read -r v && [ -z "$v" ]; then
      echo "dgx-spark-vllm: container $CONTAINER: secrets-file: stdin ended before the value of $k (one line per secret: ${SECRET_NAMES[*]})" >&2
      return 1
    fi
    out+="$k=$(secrets_quote "$v")"$'\n'
  done
  # The container's own folder is this step's; the folders above it are shared by every container
  # (and cluster) on the host: those made here go on a host-wide list that the last remove empties.
  # Both under the holders' lock, so two clusters' first up at once cannot both miss the other.
  holders_lock
  if [ ! -e "$J/$JOURNAL_KEY.dirs" ]; then
    if [ -d "$SECRETS_DIR" ]; then $SUDO touch "$J/$JOURNAL_KEY.dirs"; else echo "$SECRETS_DIR" | $SUDO tee "$J/$JOURNAL_KEY.dirs" >/dev/null; fi
    local d=${SECRETS_DIR%/*} made=
    while [ ! -d "$d" ]; do made+="$d"$'\n'; d=$(dirname "$d"); done
    if [ -n "$made" ]; then printf '%s' "$made" | $SUDO tee -a "$J/secrets-shared.dirs" >/dev/null; fi
  fi
  $SUDO mkdir -p "$SECRETS_DIR"
  holders_unlock
  $SUDO chown 0:0 "${SECRETS_DIR%/*}" "$SECRETS_DIR"
  $SUDO chmod 0700 "${SECRETS_DIR%/*}" "$SECRETS_DIR"
  # printf is a builtin: the values go through the pipe, not through any process's arguments. Only
  # root can enter the folder, so the file is never readable by anyone else, even before chmod.
  printf '%s' "$out" | $SUDO tee "$SECRETS_FILE.new" >/dev/null
  $SUDO chmod 0600 "$SECRETS_FILE.new"
  $SUDO mv -f "$SECRETS_FILE.new" "$SECRETS_FILE"
  echo "dgx-spark-vllm: container $CONTAINER: secrets file $SECRETS_FILE written (${SECRET_NAMES[*]})"
}

# secrets_file_remove: remove SECRETS_FILE and the folders secrets_file_write made (when empty):
# its own, then the shared ones (deepest first) once no other container's folder is in them.
secrets_file_remove() {
  $SUDO rm -f "$SECRETS_FILE" "$SECRETS_FILE.new"
  local d
  if [ -e "$J/$JOURNAL_KEY.dirs" ]; then
    while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done <"$J/$JOURNAL_KEY.dirs"
    $SUDO rm -f "$J/$JOURNAL_KEY.dirs"
  fi
  holders_lock
  if [ -e "$J/secrets-shared.dirs" ] && $SUDO rmdir "${SECRETS_DIR%/*}" 2>/dev/null; then
    while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done <"$J/secrets-shared.dirs"
    $SUDO rm -f "$J/secrets-shared.dirs"
  fi
  holders_unlock
}
secrets_file_write
