/**
 * What a cluster is called on its hosts: container, systemd unit, script, state and journal names.
 * A cluster without an instance name keeps the plain names (`dgx-spark-vllm-<node>`,
 * `dgx-spark-vllm-watchdog`, ...): what `plan`, `doctor` and `repair` print and read. A cluster
 * with one (DeepSeekV4Cluster passes its component name) puts it in every name, so two clusters
 * on one Spark never share a container, a unit, a script or a journal.
 *
 * Some host settings are one per host by nature (swap, vm.min_free_kbytes and its sysctl file,
 * the data-plane netdevs and their netplan file, the cache folders, an image tag): those are
 * recorded once in the host-wide journal with a list of the clusters holding them, and only the
 * last holder's delete puts the original back (src/host/journal.sh).
 */
import { hostFile, varBlock } from "../shell/host";
import { JOURNAL_DIR } from "../shell/script";
import type { HostNames } from "./types";

export type { HostNames } from "./types";

/** The product's own prefix: every name on a host starts with it. */
export const NAME_PREFIX = "dgx-spark-vllm";
/** The host-wide journal: the settings every cluster on a host shares, with their holders. */
export const SHARED_JOURNAL_DIR = JOURNAL_DIR;
/** An instance name: it goes into container, unit and file names. */
export const INSTANCE_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;

/** The names of a cluster on its hosts; `instance` undefined: the plain names. */
export function hostNames(instance?: string): HostNames {
  if (instance !== undefined && !INSTANCE_PATTERN.test(instance))
    throw new Error(
      `instance name '${instance}' cannot name containers, units and files: use 1-31 lower-case letters, digits and '-' (starting with a letter or digit)`,
    );
  const prefix = instance === undefined ? NAME_PREFIX : `${NAME_PREFIX}-${instance}`;
  const state = `/var/lib/${prefix}`;
  return {
    instance: instance ?? null,
    prefix,
    holder: prefix,
    journal: `${state}/journal`,
    sharedJournal: SHARED_JOURNAL_DIR,
    stateDir: state,
    libDir: `/usr/local/lib/${prefix}`,
    configDir: `/etc/${prefix}`,
    linkUnit: `${prefix}-link`,
    monitorUnit: `${prefix}-uma-headroom`,
    watchdogUnit: `${prefix}-watchdog`,
    watchdogBin: `/usr/local/bin/${prefix}-watchdog`,
  };
}

/** The plain names (a cluster without an instance name). */
export const DEFAULT_NAMES: HostNames = hostNames();

/** The vLLM container of a node. */
export function containerName(names: HostNames, node: string): string {
  return `${names.prefix}-${node}`;
}

/** The drop-caches sidecar of a node. */
export function sidecarName(names: HostNames, node: string): string {
  return `${names.prefix}-drop-caches-${node}`;
}

/** The holder functions (`hold KEY`, `release KEY`: src/host/journal.sh) with this cluster's name, for a step on shared settings. */
export function holderFunctions(names: HostNames): string[] {
  return [varBlock({ HOLDER: names.holder }), hostFile("journal.sh").replace(/\n$/, "")];
}

/**
 * Lines run under the holders' lock (src/host/journal.sh): a create records a shared setting's
 * original and adds its holder in one go, so two clusters' first `up` at once cannot both find no record.
 */
export function underHoldersLock(...lines: string[]): string[] {
  return ["holders_lock", ...lines, "holders_unlock"];
}
