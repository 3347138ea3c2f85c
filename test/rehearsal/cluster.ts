/** The cluster the rehearsal deploys: the test fixture's two nodes, pointed at the simulated hosts. */
import { planFromInput } from "../../src/plan/cluster";
import type { ClusterPlan } from "../../src/plan/types";
import { baseConfig, twinConfig } from "../support/fixtures";
import type { SimHostSpec, SimLab } from "./lab";

export const HEAD = "spark-head";
export const WORKER = "spark-worker";

/** Host specs matching the fixture config's data-plane ports (one twin, or both). */
export function hostSpecs(twins = false): SimHostSpec[] {
  const c = twins ? twinConfig() : baseConfig();
  return c.nodes.map((n: any) => ({
    name: n.name,
    ports: n.dataPlane.map((p: any) => ({ netdev: p.netdev, hca: p.hca })),
  }));
}

/** The fixture config with each node's SSH pointed at its simulated host (host key pinned unless told). */
export function rehearsalConfig(
  lab: SimLab,
  opts: { twins?: boolean; pinHostKeys?: boolean } = {},
): Record<string, any> {
  const c = opts.twins ? twinConfig() : baseConfig();
  c.ssh.privateKey = lab.clientKey;
  for (const n of c.nodes) {
    const h = lab.host(n.name);
    n.ssh.host = h.mgmt;
    if (opts.pinHostKeys ?? true) n.ssh.hostKey = h.hostKey;
  }
  return c;
}

export function rehearsalPlan(config: Record<string, any>): ClusterPlan {
  return planFromInput(config, "plan");
}
