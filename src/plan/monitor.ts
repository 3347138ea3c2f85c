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
import { removeManagedFile, scriptIn, undoScriptIn, writeManagedFile } from "../shell/script";
import { DEFAULT_NAMES } from "./names";
import { METRICS_DIR, type NodeMetricsSpec, nodeMetricsVars } from "./observability";
import type { HostNames, HostStep } from "./types";

/** The names of a cluster without an instance name (a cluster's own: `monitorFiles(plan.names)`). */
export const MONITOR_UNIT = DEFAULT_NAMES.monitorUnit;
export const MONITOR_SCRIPT = `${DEFAULT_NAMES.libDir}/uma-headroom.sh`;
export const MONITOR_CONFIG_DIR = DEFAULT_NAMES.configDir;
export const MONITOR_WEBHOOK_FILE = `${MONITOR_CONFIG_DIR}/uma-webhook`;
export const MONITOR_SERVICE_FILE = `/etc/systemd/system/${MONITOR_UNIT}.service`;
export const MONITOR_TIMER_FILE = `/etc/systemd/system/${MONITOR_UNIT}.timer`;
/** Check interval, seconds (RECIPE.md: every ~60 s). */
export const MONITOR_INTERVAL_S = 60;

/** The check itself (runs as root from the service): src/host/uma-headroom.sh with its settings. */
export function monitorCheckScript(
  node: string,
  thresholdGb: number,
  metrics?: NodeMetricsSpec,
  webhookFile = MONITOR_WEBHOOK_FILE,
): string {
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
      WEBHOOK_FILE: webhookFile,
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
export function umaMonitorStep(
  node: string,
  thresholdGb: number,
  metrics?: NodeMetricsSpec,
  names: HostNames = DEFAULT_NAMES,
): HostStep {
  const unitName = names.monitorUnit;
  const checkScript = `${names.libDir}/uma-headroom.sh`;
  const configDir = names.configDir;
  const webhookFile = `${configDir}/uma-webhook`;
  const serviceFile = `/etc/systemd/system/${unitName}.service`;
  const timerFile = `/etc/systemd/system/${unitName}.timer`;
  const dirKey = `dir${configDir.replace(/\//g, "%")}.created`;
  const service = [
    "[Unit]",
    "Description=dgx-spark-vllm UMA headroom check",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${checkScript}`,
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
    description:
      `UMA headroom monitor: systemd timer every ${MONITOR_INTERVAL_S} s, alert below ${thresholdGb} GiB available` +
      ` (webhook optional, read on stdin)${metrics ? `; writes the node metrics to ${metrics.file}` : ""}`,
    create: scriptIn(
      names.journal,
      // stdin: the webhook URL or nothing. Read before anything else consumes stdin.
      "webhook=; IFS= read -r webhook || true",
      writeManagedFile(checkScript, monitorCheckScript(node, thresholdGb, metrics, webhookFile), "0755"),
      writeManagedFile(serviceFile, service),
      writeManagedFile(timerFile, timer),
      sh`if [ ! -d ${configDir} ]; then $SUDO mkdir -p ${configDir}; $SUDO touch "$J"/${dirKey}; fi`,
      sh`if [ -n "$webhook" ]; then printf '%s\\n' "$webhook" | $SUDO tee ${webhookFile} >/dev/null;` +
        sh` $SUDO chmod 0600 ${webhookFile}; else $SUDO rm -f ${webhookFile}; fi`,
      "$SUDO systemctl daemon-reload",
      sh`$SUDO systemctl enable --now ${`${unitName}.timer`}`,
    ),
    delete: undoScriptIn(
      names.journal,
      sh`$SUDO systemctl disable --now ${`${unitName}.timer`} 2>/dev/null || true`,
      sh`$SUDO rm -f ${webhookFile}`,
      sh`if [ -e "$J"/${dirKey} ]; then $SUDO rmdir ${configDir} 2>/dev/null || true; $SUDO rm -f "$J"/${dirKey}; fi`,
      ...(metrics ? [sh`$SUDO rm -rf ${METRICS_DIR}`] : []),
      removeManagedFile(timerFile),
      removeManagedFile(serviceFile),
      removeManagedFile(checkScript),
      "$SUDO systemctl daemon-reload",
    ),
    after: [],
  };
}
