/**
 * The cluster the rehearsal deploys: the test fixture's two nodes (or a stack file's nodes, e.g.
 * the four Sparks of stacks/Pulumi.2x2-replicas.yaml), pointed at the simulated hosts.
 */
import { join } from "node:path";
import { readStackFile } from "../../src/config/load";
import { planFromInput } from "../../src/plan/cluster";
import { modelCacheDir } from "../../src/plan/service";
import type { ClusterPlan } from "../../src/plan/types";
import { baseConfig, twinConfig } from "../support/fixtures";
import { ROOT } from "../support/rendered";
import type { SimHostSpec, SimLab } from "./lab";

export const HEAD = "spark-head";
export const WORKER = "spark-worker";

/** Host specs matching the fixture config's data-plane ports (one twin, or both). */
export function hostSpecs(twins = false): SimHostSpec[] {
  return specsOf(twins ? twinConfig() : baseConfig());
}

/** Host specs matching a config's nodes and their data-plane ports. */
export function specsOf(config: Record<string, any>): SimHostSpec[] {
  return config.nodes.map((n: any) => ({
    name: n.name,
    ports: n.dataPlane.map((p: any) => ({ netdev: p.netdev, hca: p.hca })),
  }));
}

/** The fixture config with each node's SSH pointed at its simulated host (host key pinned unless told). */
export function rehearsalConfig(
  lab: SimLab,
  opts: { twins?: boolean; pinHostKeys?: boolean } = {},
): Record<string, any> {
  return pointAt(lab, opts.twins ? twinConfig() : baseConfig(), opts);
}

/** A config (changed in place and returned) with the lab's key and each node's SSH at its simulated host. */
export function pointAt(
  lab: SimLab,
  config: Record<string, any>,
  opts: { pinHostKeys?: boolean } = {},
): Record<string, any> {
  config.ssh = { ...(config.ssh ?? {}), privateKey: lab.clientKey };
  for (const n of config.nodes) {
    const h = lab.host(n.name);
    n.ssh = { ...(n.ssh ?? {}), host: h.mgmt };
    if (opts.pinHostKeys ?? true) n.ssh.hostKey = h.hostKey;
  }
  return config;
}

/** A stack file of stacks/ (`Pulumi.<stack>.yaml`) as the program reads it, e.g. `2x2-replicas`. */
export function stackInput(stack: string): Record<string, any> {
  return readStackFile(join(ROOT, "stacks", `Pulumi.${stack}.yaml`)) as Record<string, any>;
}

export function rehearsalPlan(config: Record<string, any>): ClusterPlan {
  return planFromInput(config, "plan");
}

/**
 * What a finished deploy leaves in each node's Hugging Face cache: the same small snapshot on every
 * node and the weights' record (manifest, last verification) that src/host/weights.py writes.
 */
export function seedVerifiedWeights(lab: SimLab, plan: ClusterPlan): void {
  const rev = "0123abc0123abc0123abc0123abc0123abc0123a";
  const dir = modelCacheDir(plan, plan.nodes[0] as ClusterPlan["nodes"][number]);
  const hub = `${dir}/snapshots/${rev}`;
  const record = `${dir}/dgx-spark-vllm`;
  const manifest = JSON.stringify({
    revision: rev,
    files: [
      { path: "config.json", size: 3 },
      { path: "model-00001.safetensors", size: 4096 },
    ],
  });
  for (const h of plan.nodes.map((n) => n.name))
    lab.must(
      h,
      `install -d -o spark -g spark ${hub} ${record} && head -c 4096 /dev/zero > ${hub}/model-00001.safetensors && echo '{}' > ${hub}/config.json && chown spark:spark ${hub}/*` +
        ` && echo '${manifest}' > ${record}/manifest-${rev}.json && echo '{"revision": "${rev}"}' | tee ${record}/current.json > ${record}/verified-${rev}.json`,
    );
}
