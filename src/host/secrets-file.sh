#!/usr/bin/env bash
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
