set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi
J=/var/lib/dgx-spark-vllm/journal
$SUDO mkdir -p "$J"
key=; hook=; pass=; IFS= read -r key || true; IFS= read -r hook || true; IFS= read -r pass || true
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.orig" ] && [ ! -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.absent" ]; then
  if [ -e /etc/dgx-spark-vllm/observability/prometheus/prometheus.yml ]; then $SUDO cp -p /etc/dgx-spark-vllm/observability/prometheus/prometheus.yml "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.orig"; else $SUDO touch "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.absent"; fi
fi
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.dirs" ]; then d=/etc/dgx-spark-vllm/observability/prometheus; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%dgx-spark-vllm%observability%prometheus%prometheus.yml.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/dgx-spark-vllm/observability/prometheus
$SUDO tee /etc/dgx-spark-vllm/observability/prometheus/prometheus.yml >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm (docs/observability.md). Rendered by the plan: edit the stack config, not this file.
global:
  scrape_interval: "15s"
  evaluation_interval: "15s"
  external_labels:
    cluster: "dgx-spark-vllm"
rule_files:
  - "/etc/prometheus/rules.yml"
alerting:
  alertmanagers:
    - static_configs:
        - targets:
            - "127.0.0.1:9093"
scrape_configs:
  - job_name: "vllm"
    metrics_path: "/metrics"
    authorization:
      type: "Bearer"
      credentials_file: "/etc/prometheus/api-key"
    static_configs:
      - targets:
          - "127.0.0.1:8000"
        labels:
          node: "spark-head"
  - job_name: "node"
    static_configs:
      - targets:
          - "spark-head.local:9100"
        labels:
          node: "spark-head"
      - targets:
          - "spark-worker.local:9100"
        labels:
          node: "spark-worker"
  - job_name: "prometheus"
    static_configs:
      - targets:
          - "127.0.0.1:9090"
        labels:
          node: "spark-head"
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/dgx-spark-vllm/observability/prometheus/prometheus.yml
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.orig" ] && [ ! -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.absent" ]; then
  if [ -e /etc/dgx-spark-vllm/observability/prometheus/rules.yml ]; then $SUDO cp -p /etc/dgx-spark-vllm/observability/prometheus/rules.yml "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.orig"; else $SUDO touch "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.absent"; fi
fi
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.dirs" ]; then d=/etc/dgx-spark-vllm/observability/prometheus; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%dgx-spark-vllm%observability%prometheus%rules.yml.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/dgx-spark-vllm/observability/prometheus
$SUDO tee /etc/dgx-spark-vllm/observability/prometheus/rules.yml >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm (docs/observability.md).
groups:
  - name: "dgx-spark-vllm"
    rules:
      - alert: "UmaHeadroomLow"
        expr: "dgx_spark_vllm_uma_available_bytes < dgx_spark_vllm_uma_threshold_bytes"
        for: "2m"
        labels:
          severity: "critical"
        annotations:
          summary: "{{ $labels.node }}: free unified memory is under the alert threshold (a GB10 freezes silently when it runs out)"
      - alert: "EngineDown"
        expr: "up{job=\"vllm\"} == 0"
        for: "2m"
        labels:
          severity: "critical"
        annotations:
          summary: "vLLM on {{ $labels.node }} does not answer /metrics"
      - alert: "NodeExporterDown"
        expr: "up{job=\"node\"} == 0"
        for: "5m"
        labels:
          severity: "warning"
        annotations:
          summary: "the node exporter on {{ $labels.node }} does not answer: its UMA, link and watchdog metrics are missing"
      - alert: "NodeMetricsStale"
        expr: "time() - dgx_spark_vllm_node_metrics_timestamp_seconds > 300"
        labels:
          severity: "warning"
        annotations:
          summary: "{{ $labels.node }}: the UMA monitor has not written its metrics for 5 minutes (is its timer running?)"
      - alert: "WatchdogRestartsOverBudget"
        expr: "dgx_spark_vllm_watchdog_restarts_last_hour >= dgx_spark_vllm_watchdog_max_restarts_per_hour or dgx_spark_vllm_watchdog_gave_up == 1"
        labels:
          severity: "critical"
        annotations:
          summary: "the watchdog on {{ $labels.node }} used its hourly restart budget or gave up (the ranks stay down until `dgx-spark-vllm-watchdog resume`)"
      - alert: "KvCacheSaturated"
        expr: "max by (node) (vllm:kv_cache_usage_perc) >= 0.95"
        for: "5m"
        labels:
          severity: "warning"
        annotations:
          summary: "KV cache usage on {{ $labels.node }} at or above 95% for 5 minutes: requests queue or are preempted"
      - alert: "RoceLinkErrorsRising"
        expr: "sum by (node, device, port) (increase(dgx_spark_vllm_rdma_port_errors_total[10m])) > 0"
        labels:
          severity: "warning"
        annotations:
          summary: "{{ $labels.node }}: RDMA error counters of {{ $labels.device }} port {{ $labels.port }} rose in the last 10 minutes"
      - alert: "RoceGidMissing"
        expr: "dgx_spark_vllm_roce_gid_index < 0"
        for: "2m"
        labels:
          severity: "critical"
        annotations:
          summary: "{{ $labels.node }}: no RoCE v2 GID for {{ $labels.address }} on {{ $labels.hca }} (the post-reboot quirk: NCCL hangs)"
      - alert: "SpecAcceptanceCollapsed"
        expr: "(sum by (node) (rate(vllm:spec_decode_num_accepted_tokens_total[10m])) / sum by (node) (rate(vllm:spec_decode_num_draft_tokens_total[10m]))) < 0.3"
        for: "10m"
        labels:
          severity: "warning"
        annotations:
          summary: "speculative acceptance on {{ $labels.node }} under 30% for 10 minutes: decoding is slower than without it"
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/dgx-spark-vllm/observability/prometheus/rules.yml
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.orig" ] && [ ! -e "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.absent" ]; then
  if [ -e /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in ]; then $SUDO cp -p /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.orig"; else $SUDO touch "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.absent"; fi
fi
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.dirs" ]; then d=/etc/dgx-spark-vllm/observability/alertmanager; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%dgx-spark-vllm%observability%alertmanager%alertmanager.yml.in.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/dgx-spark-vllm/observability/alertmanager
$SUDO tee /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm (docs/observability.md).
route:
  receiver: "none"
  group_by:
    - "alertname"
    - "node"
  group_wait: "30s"
  group_interval: "5m"
  repeat_interval: "4h"
receivers:
  - name: "none"
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.orig" ] && [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.absent" ]; then
  if [ -e /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources/dgx-spark-vllm.yml ]; then $SUDO cp -p /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources/dgx-spark-vllm.yml "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.orig"; else $SUDO touch "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.absent"; fi
fi
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.dirs" ]; then d=/etc/dgx-spark-vllm/observability/grafana/provisioning/datasources; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%datasources%dgx-spark-vllm.yml.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources
$SUDO tee /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources/dgx-spark-vllm.yml >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm.
apiVersion: 1
datasources:
  - name: "Prometheus"
    uid: "dgx-spark-vllm-prometheus"
    type: "prometheus"
    access: "proxy"
    url: "http://127.0.0.1:9090"
    isDefault: true
    editable: false
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/dgx-spark-vllm/observability/grafana/provisioning/datasources/dgx-spark-vllm.yml
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.orig" ] && [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.absent" ]; then
  if [ -e /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards/dgx-spark-vllm.yml ]; then $SUDO cp -p /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards/dgx-spark-vllm.yml "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.orig"; else $SUDO touch "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.absent"; fi
fi
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.dirs" ]; then d=/etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%dgx-spark-vllm%observability%grafana%provisioning%dashboards%dgx-spark-vllm.yml.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards
$SUDO tee /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards/dgx-spark-vllm.yml >/dev/null <<'DGX_SPARK_VLLM_EOF'
# Managed by dgx-spark-vllm.
apiVersion: 1
providers:
  - name: "dgx-spark-vllm"
    type: "file"
    disableDeletion: true
    allowUiUpdates: false
    options:
      path: "/var/lib/grafana/dashboards"
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/dgx-spark-vllm/observability/grafana/provisioning/dashboards/dgx-spark-vllm.yml
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.orig" ] && [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.absent" ]; then
  if [ -e /etc/dgx-spark-vllm/observability/grafana/dashboards/dgx-spark-vllm.json ]; then $SUDO cp -p /etc/dgx-spark-vllm/observability/grafana/dashboards/dgx-spark-vllm.json "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.orig"; else $SUDO touch "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.absent"; fi
fi
if [ ! -e "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.dirs" ]; then d=/etc/dgx-spark-vllm/observability/grafana/dashboards; while [ ! -d "$d" ]; do echo "$d"; d=$(dirname "$d"); done | $SUDO tee "$J/file%etc%dgx-spark-vllm%observability%grafana%dashboards%dgx-spark-vllm.json.dirs" >/dev/null; fi
$SUDO mkdir -p /etc/dgx-spark-vllm/observability/grafana/dashboards
$SUDO tee /etc/dgx-spark-vllm/observability/grafana/dashboards/dgx-spark-vllm.json >/dev/null <<'DGX_SPARK_VLLM_EOF'
{
  "uid": "dgx-spark-vllm",
  "title": "DeepSeek-V4-Flash on DGX Spark",
  "tags": [
    "dgx-spark-vllm"
  ],
  "timezone": "browser",
  "schemaVersion": 39,
  "version": 1,
  "editable": false,
  "refresh": "30s",
  "time": {
    "from": "now-1h",
    "to": "now"
  },
  "panels": [
    {
      "id": 1,
      "type": "timeseries",
      "title": "Tokens per second",
      "description": "Prompt (prefill) and generation tokens per second, from vLLM's counters.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 0,
        "y": 0
      },
      "fieldConfig": {
        "defaults": {
          "unit": "short"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum(rate(vllm:prompt_tokens_total[1m]))",
          "legendFormat": "prompt"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum(rate(vllm:generation_tokens_total[1m]))",
          "legendFormat": "generation"
        }
      ]
    },
    {
      "id": 2,
      "type": "timeseries",
      "title": "Time to first token",
      "description": "TTFT percentiles over 5 minutes.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 12,
        "y": 0
      },
      "fieldConfig": {
        "defaults": {
          "unit": "s"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "histogram_quantile(0.5, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))",
          "legendFormat": "p50"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))",
          "legendFormat": "p95"
        },
        {
          "refId": "C",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "histogram_quantile(0.99, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))",
          "legendFormat": "p99"
        }
      ]
    },
    {
      "id": 3,
      "type": "timeseries",
      "title": "Inter-token latency",
      "description": "Time between output tokens, percentiles over 5 minutes.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 0,
        "y": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "s"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "histogram_quantile(0.5, sum by (le) (rate(vllm:inter_token_latency_seconds_bucket[5m])))",
          "legendFormat": "p50"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "histogram_quantile(0.95, sum by (le) (rate(vllm:inter_token_latency_seconds_bucket[5m])))",
          "legendFormat": "p95"
        },
        {
          "refId": "C",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "histogram_quantile(0.99, sum by (le) (rate(vllm:inter_token_latency_seconds_bucket[5m])))",
          "legendFormat": "p99"
        }
      ]
    },
    {
      "id": 4,
      "type": "timeseries",
      "title": "Requests running and waiting",
      "description": "Requests in the running batch and in the queue.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 12,
        "y": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "short"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum(vllm:num_requests_running)",
          "legendFormat": "running"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum(vllm:num_requests_waiting)",
          "legendFormat": "waiting"
        }
      ]
    },
    {
      "id": 5,
      "type": "timeseries",
      "title": "KV cache usage",
      "description": "Fraction of KV cache blocks in use (1 = full).",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 0,
        "y": 16
      },
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "max(vllm:kv_cache_usage_perc)",
          "legendFormat": "KV usage"
        }
      ]
    },
    {
      "id": 6,
      "type": "timeseries",
      "title": "Prefix cache hit rate",
      "description": "Prefix-cache hits over queries (tokens), over 5 minutes.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 12,
        "y": 16
      },
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum(rate(vllm:prefix_cache_hits_total[5m])) / sum(rate(vllm:prefix_cache_queries_total[5m]))",
          "legendFormat": "hit rate"
        }
      ]
    },
    {
      "id": 7,
      "type": "timeseries",
      "title": "Speculative decoding",
      "description": "Acceptance rate (accepted over drafted tokens) and mean accepted length (1 + accepted tokens per draft) over 5 minutes: they decide the decode speed.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 0,
        "y": 24
      },
      "fieldConfig": {
        "defaults": {
          "unit": "short"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum(rate(vllm:spec_decode_num_accepted_tokens_total[5m])) / sum(rate(vllm:spec_decode_num_draft_tokens_total[5m]))",
          "legendFormat": "acceptance rate"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "1 + sum(rate(vllm:spec_decode_num_accepted_tokens_total[5m])) / sum(rate(vllm:spec_decode_num_drafts_total[5m]))",
          "legendFormat": "mean accepted length"
        }
      ]
    },
    {
      "id": 8,
      "type": "timeseries",
      "title": "Free unified memory per node",
      "description": "MemAvailable per node, with the UMA alert threshold.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 12,
        "y": 24
      },
      "fieldConfig": {
        "defaults": {
          "unit": "bytes"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "dgx_spark_vllm_uma_available_bytes",
          "legendFormat": "{{node}} available"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "dgx_spark_vllm_uma_threshold_bytes",
          "legendFormat": "{{node}} threshold"
        }
      ]
    },
    {
      "id": 9,
      "type": "timeseries",
      "title": "Watchdog restarts",
      "description": "Restarts of every rank in the last hour, and the hourly cap.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 0,
        "y": 32
      },
      "fieldConfig": {
        "defaults": {
          "unit": "short"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "dgx_spark_vllm_watchdog_restarts_last_hour",
          "legendFormat": "restarts (last hour)"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "dgx_spark_vllm_watchdog_max_restarts_per_hour",
          "legendFormat": "cap"
        }
      ]
    },
    {
      "id": 10,
      "type": "timeseries",
      "title": "RoCE link errors and retransmits",
      "description": "Increase of the RDMA error and retransmission counters over 10 minutes, per port.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 12,
        "y": 32
      },
      "fieldConfig": {
        "defaults": {
          "unit": "short"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum by (node, device) (increase(dgx_spark_vllm_rdma_port_errors_total[10m]))",
          "legendFormat": "{{node}} {{device}} errors"
        },
        {
          "refId": "B",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum by (node, device) (increase(dgx_spark_vllm_rdma_port_retransmits_total[10m]))",
          "legendFormat": "{{node}} {{device}} retransmits"
        }
      ]
    },
    {
      "id": 11,
      "type": "timeseries",
      "title": "RoCE link throughput",
      "description": "Data bytes per second over the data plane, per port and direction.",
      "datasource": {
        "type": "prometheus",
        "uid": "dgx-spark-vllm-prometheus"
      },
      "gridPos": {
        "h": 8,
        "w": 12,
        "x": 0,
        "y": 40
      },
      "fieldConfig": {
        "defaults": {
          "unit": "Bps"
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "list",
          "placement": "bottom",
          "showLegend": true
        }
      },
      "targets": [
        {
          "refId": "A",
          "datasource": {
            "type": "prometheus",
            "uid": "dgx-spark-vllm-prometheus"
          },
          "expr": "sum by (node, device, direction) (rate(dgx_spark_vllm_rdma_port_bytes_total[5m]))",
          "legendFormat": "{{node}} {{device}} {{direction}}"
        }
      ]
    }
  ]
}
DGX_SPARK_VLLM_EOF
$SUDO chmod 0644 /etc/dgx-spark-vllm/observability/grafana/dashboards/dgx-spark-vllm.json
$SUDO install -d -m 0755 /etc/dgx-spark-vllm/observability/grafana/provisioning /etc/dgx-spark-vllm/observability/grafana/dashboards /etc/dgx-spark-vllm/observability/prometheus /etc/dgx-spark-vllm/observability/alertmanager
if [ -n "$key" ]; then printf '%s' "$key" | $SUDO tee /etc/dgx-spark-vllm/observability/prometheus/api-key >/dev/null; $SUDO chown 65534 /etc/dgx-spark-vllm/observability/prometheus/api-key; $SUDO chmod 0400 /etc/dgx-spark-vllm/observability/prometheus/api-key; else $SUDO rm -f /etc/dgx-spark-vllm/observability/prometheus/api-key; fi
if [ -n "$hook" ]; then HOOK="$hook" python3 -c 'import os,sys; t=open(sys.argv[1]).read(); sys.stdout.write(t.replace(sys.argv[2], os.environ["HOOK"]))' /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in https://webhook.placeholder.invalid/dgx-spark-vllm | $SUDO tee /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml >/dev/null; else $SUDO cp /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml.in /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml; fi
$SUDO chown 65534 /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml; $SUDO chmod 0400 /etc/dgx-spark-vllm/observability/alertmanager/alertmanager.yml
printf '%s' "$pass" | $SUDO tee /etc/dgx-spark-vllm/observability/grafana/admin-password >/dev/null; $SUDO chown 472 /etc/dgx-spark-vllm/observability/grafana/admin-password; $SUDO chmod 0400 /etc/dgx-spark-vllm/observability/grafana/admin-password
docker kill -s HUP dgx-spark-vllm-prometheus dgx-spark-vllm-alertmanager >/dev/null 2>&1 || true
