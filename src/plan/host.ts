/**
 * Host preparation and hardening for one node (RECIPE.md "Host hardening"): cache folders,
 * vm.min_free_kbytes persisted and applied, swap off now and across reboots. Each step records
 * what was there before in the host's journal and its delete puts exactly that back. These
 * settings are one per host: they are recorded in the host-wide journal with the clusters that
 * hold them, and only the last holder's delete restores them (src/plan/names.ts).
 */
import type { ClusterConfig } from "../config/schema";
import { hostFile, varBlock } from "../shell/host";
import { sh } from "../shell/sh";
import { removeManagedFile, script, undoScript, writeManagedFile } from "../shell/script";
import { DEFAULT_NAMES, holderFunctions, underHoldersLock } from "./names";
import type { HostNames, HostStep, NodePlan } from "./types";

export const SYSCTL_FILE = "/etc/sysctl.d/90-dgx-spark-vllm.conf";
/** Marker put in front of the fstab swap lines we disable, so delete can restore exactly those. */
export const FSTAB_MARK = "#dgx-spark-vllm# ";

export function cacheStep(cache: NodePlan["cache"], names: HostNames = DEFAULT_NAMES): HostStep {
  const dirs = [cache.root, cache.huggingface, cache.vllm, cache.flashinfer, cache.triton];
  const uniq = [...new Set(dirs)];
  return {
    id: "caches",
    description: `cache folders ${uniq.join(", ")} (kept on delete when not empty: the weights are data)`,
    create: script(
      ...holderFunctions(names),
      ...underHoldersLock(
        ...uniq.map(
          (d) =>
            sh`if [ ! -d ${d} ]; then $SUDO install -d -o "$(id -un)" -g "$(id -gn)" ${d}; echo ${d} | $SUDO tee -a "$J/created-dirs" >/dev/null; fi`,
        ),
        "hold created-dirs",
      ),
    ),
    delete: undoScript(
      ...holderFunctions(names),
      'if release created-dirs && [ -e "$J/created-dirs" ]; then',
      '  tac "$J/created-dirs" | while read -r d; do [ -d "$d" ] && $SUDO rmdir --ignore-fail-on-non-empty "$d"; done',
      '  $SUDO rm -f "$J/created-dirs"',
      "fi",
    ),
    after: [],
  };
}

/**
 * The variable block and src/host/hardening.sh (swap_off, min_free_kbytes_set): shared by the
 * hardening steps and the link boot unit, which re-asserts them at every boot.
 */
export function hardeningFunctions(minFreeKbytes?: number): string[] {
  const vars = varBlock({
    FSTAB_MARK,
    ...(minFreeKbytes === undefined ? {} : { MIN_FREE_KBYTES: minFreeKbytes }),
  });
  return [vars, hostFile("hardening.sh").replace(/\n$/, "")];
}

export function minFreeKbytesStep(kb: number, names: HostNames = DEFAULT_NAMES): HostStep {
  return {
    id: "min-free-kbytes",
    description: `vm.min_free_kbytes=${kb} (a reserve so a UMA OOM kills the engine instead of wedging the host), persisted in ${SYSCTL_FILE}`,
    create: script(
      ...holderFunctions(names),
      ...underHoldersLock(
        'if [ ! -e "$J/vm.min_free_kbytes" ]; then sysctl -n vm.min_free_kbytes | $SUDO tee "$J/vm.min_free_kbytes" >/dev/null; fi',
        "hold vm.min_free_kbytes",
        writeManagedFile(
          SYSCTL_FILE,
          `# Managed by dgx-spark-vllm: make a UMA OOM recoverable.\nvm.min_free_kbytes = ${kb}`,
        ),
      ),
      ...hardeningFunctions(kb),
      "min_free_kbytes_set",
    ),
    delete: undoScript(
      ...holderFunctions(names),
      "if release vm.min_free_kbytes; then",
      'if [ -e "$J/vm.min_free_kbytes" ]; then $SUDO sysctl -q -w vm.min_free_kbytes="$(cat "$J/vm.min_free_kbytes")"; $SUDO rm -f "$J/vm.min_free_kbytes"; fi',
      removeManagedFile(SYSCTL_FILE),
      "fi",
    ),
    after: [],
  };
}

export function swapOffStep(names: HostNames = DEFAULT_NAMES): HostStep {
  return {
    id: "swap-off",
    description: "swapoff -a now, and the swap lines of /etc/fstab commented out so it stays off after a reboot",
    create: script(
      ...holderFunctions(names),
      ...underHoldersLock(
        'if [ ! -e "$J/swaps" ]; then swapon --show=NAME --noheadings --raw | $SUDO tee "$J/swaps" >/dev/null; fi',
        "hold swaps",
      ),
      ...hardeningFunctions(),
      "swap_off",
    ),
    delete: undoScript(
      ...holderFunctions(names),
      "if release swaps; then",
      sh`if grep -q ${`^${FSTAB_MARK}`} /etc/fstab; then $SUDO sed -i ${`s|^${FSTAB_MARK}||`} /etc/fstab; fi`,
      'if [ -e "$J/swaps" ]; then',
      "  while read -r dev; do",
      '    if [ -n "$dev" ] && ! grep -qxF "$dev" <<<"$(swapon --show=NAME --noheadings --raw)"; then $SUDO swapon "$dev"; fi',
      '  done < "$J/swaps"',
      '  $SUDO rm -f "$J/swaps"',
      "fi",
      "fi",
    ),
    after: [],
  };
}

/** The hardening and preparation steps of one node, in order. */
export function hostSteps(
  config: ClusterConfig,
  cache: NodePlan["cache"],
  names: HostNames = DEFAULT_NAMES,
): HostStep[] {
  const h = config.hardening;
  return [
    cacheStep(cache, names),
    minFreeKbytesStep(h.minFreeKbytes, names),
    ...(h.swapOff ? [swapOffStep(names)] : []),
  ];
}
