set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
$SUDO rm -f /etc/dgx-spark-vllm/observability/prometheus/api-key /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml /etc/dgx-spark-vllm/observability/grafana/admin-password
if [ -e "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.orig" ]; then $SUDO cp -p "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.orig" /etc/dgx-spark-vllm/observability/grafana/dashboards/dgx-spark-vllm.json; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.orig";
else $SUDO rm -f /etc/dgx-spark-vllm/observability/grafana/dashboards/dgx-spark-vllm.json; fi
$SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.absent"
if [ -e "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.dirs"; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.dirs"; fi
if [ -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.orig" ]; then $SUDO cp -p "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.orig" /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards/dgx-spark-vllm.yml; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.orig";
else $SUDO rm -f /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards/dgx-spark-vllm.yml; fi
$SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.absent"
if [ -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.dirs"; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.dirs"; fi
if [ -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.orig" ]; then $SUDO cp -p "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.orig" /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources/dgx-spark-vllm.yml; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.orig";
else $SUDO rm -f /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources/dgx-spark-vllm.yml; fi
$SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.absent"
if [ -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.dirs"; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.dirs"; fi
if [ -e "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.orig" ]; then $SUDO cp -p "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.orig" /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.orig";
else $SUDO rm -f /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in; fi
$SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.absent"
if [ -e "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.dirs"; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.dirs"; fi
if [ -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.orig" ]; then $SUDO cp -p "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.orig" /etc/dgx-spark-vllm/observability/prometheus/rules.yml; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.orig";
else $SUDO rm -f /etc/dgx-spark-vllm/observability/prometheus/rules.yml; fi
$SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.absent"
if [ -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.dirs"; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.dirs"; fi
if [ -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.orig" ]; then $SUDO cp -p "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.orig" /etc/dgx-spark-vllm/observability/prometheus/prometheus.yml; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.orig";
else $SUDO rm -f /etc/dgx-spark-vllm/observability/prometheus/prometheus.yml; fi
$SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.absent"
if [ -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.dirs" ]; then while read -r d; do $SUDO rmdir "$d" 2>/dev/null || true; done < "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.dirs"; $SUDO rm -f "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.dirs"; fi
if [ -d /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm/observability/grafana/provisioning ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability/grafana/provisioning 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm/observability/grafana/dashboards ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability/grafana/dashboards 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm/observability/grafana ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability/grafana 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm/observability/prometheus ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability/prometheus 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm/observability/alertmanager ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability/alertmanager 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm/observability ]; then $SUDO rmdir /etc/dgx-spark-vllm/observability 2>/dev/null || true; fi
if [ -d /etc/dgx-spark-vllm ]; then $SUDO rmdir /etc/dgx-spark-vllm 2>/dev/null || true; fi
if $SUDO rmdir "$J" 2>/dev/null; then $SUDO rmdir "${J%/*}" 2>/dev/null || true; fi
