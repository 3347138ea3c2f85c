/**
 * The UMA headroom monitor (RECIPE.md "Host hardening": the freeze is silent, alert BEFORE): a
 * systemd timer that checks MemAvailable every 60 s and logs (and optionally POSTs to a webhook)
 * when it falls below the threshold. Pure: the scripts are data, rendered by SparkNode.
 *
 * The webhook URL is not put in the plan (the plan prints "set"/"not set"): the create script
 * reads it from stdin and stores it in a root-only file.
 */
import { hostScript } from "../shell/host";
import { sh } from "../shell/sh";
import { removeManagedFile, script, undoScript, writeManagedFile } from "../shell/script";
import { METRICS_DIR, type NodeMetricsSpec, nodeMetricsVars } from "./observability";
import type { HostStep } from "./types";

export const MONITOR_UNIT = "dgx-spark-vllm-uma-headroom";
export const MONITOR_SCRIPT = "/usr/local/lib/dgx-spark-vllm/uma-headroom.sh";
export const MONITOR_CONFIG_DIR = "/etc/dgx-spark-vllm";
export const MONITOR_WEBHOOK_FILE = `${MONITOR_CONFIG_DIR}/uma-webhook`;
export const MONITOR_SERVICE_FILE = `/etc/systemd/system/${MONITOR_UNIT}.service`;
export const MONITOR_TIMER_FILE = `/etc/systemd/system/${MONITOR_UNIT}.timer`;
/** Check interval, seconds (RECIPE.md: every ~60 s). */
export const MONITOR_INTERVAL_S = 60;

/** The check itself (runs as root from the service): src/host/uma-headroom.sh with its settings. */
export function monitorCheckScript(node: string, thresholdGb: number, metrics?: NodeMetricsSpec): string {
  return hostScript({
    head: [
      "#!/bin/bash",
      "# Managed by dgx-spark-vllm: UMA headroom check (free unified memory below the threshold).",
      "set -euo pipefail",
    ],
    vars: {
      NODE: node,
      THRESHOLD_KB: Math.round(thresholdGb * 1024 * 1024),
      THRESHOLD_GB: thresholdGb,
      WEBHOOK_FILE: MONITOR_WEBHOOK_FILE,
      ...(metrics ? nodeMetricsVars(metrics) : {}),
    },
    // With observability on, the same run writes our node metrics for the node exporter (no daemon of its own).
    files: metrics ? ["gid.sh", "node-metrics.sh", "uma-headroom.sh"] : ["uma-headroom.sh"],
    ...(metrics
      ? {
          tail: [
            'node_metrics_write "$avail_kb" || logger -t dgx-spark-vllm "could not write the node metrics to $METRICS_FILE"',
          ],
        }
      : {}),
  });
}

/** The monitor as a host step. Its create script reads the optional webhook URL on stdin. */
export function umaMonitorStep(node: string, thresholdGb: number, metrics?: NodeMetricsSpec): HostStep {
  const service = [
    "[Unit]",
    "Description=dgx-spark-vllm UMA headroom check",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${MONITOR_SCRIPT}`,
  ].join("\n");
  const timer = [
    "[Unit]",
    "Description=dgx-spark-vllm UMA headroom check every minute",
    "",
    "[Timer]",
    "OnBootSec=60",
    `OnUnitActiveSec=${MONITOR_INTERVAL_S}`,
    "AccuracySec=5",
    "",
    "[Install]",
    "WantedBy=timers.target",
  ].join("\n");
  return {
    id: "uma-monitor",
    description: `UMA headroom monitor: systemd timer every ${MONITOR_INTERVAL_S} s, alert below ${thresholdGb} GiB available (webhook optional, read on stdin)${metrics ? `; writes the node metrics to ${metrics.file}` : ""}`,
    create: script(
      // stdin: the webhook URL or nothing. Read before anything else consumes stdin.
      "webhook=; IFS= read -r webhook || true",
      writeManagedFile(MONITOR_SCRIPT, monitorCheckScript(node, thresholdGb, metrics), "0755"),
      writeManagedFile(MONITOR_SERVICE_FILE, service),
      writeManagedFile(MONITOR_TIMER_FILE, timer),
      sh`if [ ! -d ${MONITOR_CONFIG_DIR} ]; then $SUDO mkdir -p ${MONITOR_CONFIG_DIR}; $SUDO touch "$J/dir%etc%dgx-spark-vllm.created"; fi`,
      sh`if [ -n "$webhook" ]; then printf '%s\\n' "$webhook" | $SUDO tee ${MONITOR_WEBHOOK_FILE} >/dev/null; $SUDO chmod 0600 ${MONITOR_WEBHOOK_FILE}; else $SUDO rm -f ${MONITOR_WEBHOOK_FILE}; fi`,
      "$SUDO systemctl daemon-reload",
      sh`$SUDO systemctl enable --now ${`${MONITOR_UNIT}.timer`}`,
    ),
    delete: undoScript(
      sh`$SUDO systemctl disable --now ${`${MONITOR_UNIT}.timer`} 2>/dev/null || true`,
      sh`$SUDO rm -f ${MONITOR_WEBHOOK_FILE}`,
      sh`if [ -e "$J/dir%etc%dgx-spark-vllm.created" ]; then $SUDO rmdir ${MONITOR_CONFIG_DIR} 2>/dev/null || true; $SUDO rm -f "$J/dir%etc%dgx-spark-vllm.created"; fi`,
      ...(metrics ? [sh`$SUDO rm -rf ${METRICS_DIR}`] : []),
      removeManagedFile(MONITOR_TIMER_FILE),
      removeManagedFile(MONITOR_SERVICE_FILE),
      removeManagedFile(MONITOR_SCRIPT),
      "$SUDO systemctl daemon-reload",
    ),
    after: [],
  };
}
