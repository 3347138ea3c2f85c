set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
UNIT=dgx-spark-vllm-router
UNIT_FILE=/etc/systemd/system/dgx-spark-vllm-router.service
UNIT_TEXT='[Unit]
Description=vLLM router (vllm-router 0.1.17, cache_aware) in front of 2 replicas of deepseek-v4
Wants=network-online.target
After=network-online.target

[Service]
EnvironmentFile=/var/lib/dgx-spark-vllm/secrets/dgx-spark-vllm-router.service/secrets.env
ExecStart=/opt/dgx-spark-vllm/vllm-router-0.1.17/bin/python /opt/dgx-spark-vllm/vllm-router-0.1.17/launch-router.py --host 0.0.0.0 --port 8080 --worker-urls http://spark-a1.local:8000 http://spark-b1.local:8000 --policy cache_aware --prometheus-host 0.0.0.0 --prometheus-port 29000 --health-check-endpoint /health --health-check-interval-secs 10 --health-check-timeout-secs 5 --health-failure-threshold 3 --health-success-threshold 2 --worker-startup-timeout-secs 3600 --worker-startup-check-interval 10
Restart=always
RestartSec=5
DynamicUser=yes
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
'
# vLLM's router on its node (serving.router, docs/router.md): src/plan/router.ts renders the
# variables in front of this file for the router-venv and router-unit steps (the router-secrets
# step is secrets-file.sh's). Inputs: SUDO, J (the host's undo journal); for the venv: VENV,
# VERSION, LAUNCHER_PATH, LAUNCHER (the launcher's text), JOURNAL_KEY; for the unit: UNIT,
# UNIT_FILE, UNIT_TEXT (the unit file's text). No secret is in any of them.

# router_venv_install: vllm-router==VERSION from PyPI in the venv VENV (made anew when another
# version, or a broken venv, is there), and the launcher beside it; readable by the unit's
# unprivileged user. The folders made above VENV are noted in the journal for router_venv_remove.
router_venv_install() {
  if "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("vllm-router") != sys.argv[1])' "$VERSION" 2>/dev/null; then
    echo "dgx-spark-vllm: router: vllm-router $VERSION already in $VENV"
  else
    if [ ! -e "$J/$JOURNAL_KEY.dirs" ]; then
      local d=${VENV%/*} made=
      while [ ! -d "$d" ]; do made+="$d"$'\n'; d=$(dirname "$d"); done
      printf '%s' "$made" | $SUDO tee "$J/$JOURNAL_KEY.dirs" >/dev/null
    fi
    $SUDO rm -rf "$VENV"
    $SUDO mkdir -p "${VENV%/*}"
    if ! $SUDO python3 -m venv "$VENV"; then
      local need="the node needs python3 and python3-venv (sudo apt-get install python3-venv), then pulumi up again"
      echo "dgx-spark-vllm: router: python3 -m venv $VENV failed: $need" >&2
      return 1
    fi
    $SUDO "$VENV/bin/pip" install -q --disable-pip-version-check --no-input "vllm-router==$VERSION"
    echo "dgx-spark-vllm: router: vllm-router $VERSION installed in $VENV"
  fi
  # printf is a builtin: the text goes through the pipe.
  printf '%s' "$LAUNCHER" | $SUDO tee "$LAUNCHER_PATH" >/dev/null
  $SUDO chmod -R a+rX "$VENV"
}

# router_venv_remove: the venv and the folders router_venv_install made above it (when empty).
router_venv_remove() {
  $SUDO rm -rf "$VENV"
  local d
  if [ -e "$J/$JOURNAL_KEY.dirs" ]; then
    while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done <"$J/$JOURNAL_KEY.dirs"
    $SUDO rm -f "$J/$JOURNAL_KEY.dirs"
  fi
}

# router_unit_install: write UNIT_FILE, enable the unit and (re)start it.
router_unit_install() {
  printf '%s' "$UNIT_TEXT" | $SUDO tee "$UNIT_FILE" >/dev/null
  $SUDO chmod 0644 "$UNIT_FILE"
  $SUDO systemctl daemon-reload
  $SUDO systemctl enable "$UNIT.service"
  $SUDO systemctl restart "$UNIT.service"
  echo "dgx-spark-vllm: router: $UNIT (re)started: journalctl -u $UNIT"
}

# router_unit_remove: stop and disable the unit, remove its file.
router_unit_remove() {
  $SUDO systemctl disable --now "$UNIT.service" 2>/dev/null || true
  $SUDO rm -f "$UNIT_FILE"
  $SUDO systemctl daemon-reload
}
router_unit_remove
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
