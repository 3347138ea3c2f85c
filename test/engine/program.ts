/**
 * The engine rehearsal's second program (issue #22, item 8): the repository's program builds one
 * cluster with the plain names (`instance: null`, what plan, doctor and repair read), so two of its
 * stacks cannot share hosts. This one is what a user writes to run several clusters on the same
 * Sparks: the same stack config, read the same way, and one DeepSeekV4Cluster named after the
 * stack, whose instance (every container, unit, script and journal name on the hosts) is that name.
 */
import * as pulumi from "@pulumi/pulumi";
import { DeepSeekV4Cluster } from "../../src/components/cluster";
import { clusterInputFromPulumiConfig } from "../../src/components/stack-config";
import { loadClusterConfig } from "../../src/config/load";

const { config, warnings } = loadClusterConfig(clusterInputFromPulumiConfig(), "deploy");
const cluster = new DeepSeekV4Cluster(pulumi.getStack(), { config, warnings });

export const endpoint = cluster.endpoint;
export const maxModelLen = cluster.maxModelLen;
export const containers = Object.values(cluster.plan.nodes).map((n) => n.container.name);
