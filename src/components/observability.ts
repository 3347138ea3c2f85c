/**
 * Observability: Prometheus, Alertmanager and Grafana containers on the head, a node exporter on
 * every Spark (docs/observability.md). Renders `plan.observability` only: the config files come
 * verbatim from the plan, written by one host step whose stdin carries the API key, the webhook
 * URL and the Grafana admin password; each container is exactly the plan's ObsContainer. The
 * data volumes go with `pulumi destroy` unless `keepDataOnDestroy` is set.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { observabilityConfigStep } from "../plan/observability";
import type { ClusterPlan, ObsContainer, ObservabilityPlan } from "../plan/types";
import { dockerProviderFor, inheritedDependsOn, stepCommand, TOKEN_PREFIX } from "./common";
import type { SparkNode } from "./spark-node";

export interface ObservabilityArgs {
  /** The cluster plan, with `observability.enabled` (from `planCluster`). */
  plan: ClusterPlan;
  /** Every node of the plan (the head runs Prometheus, Alertmanager and Grafana; each runs a node exporter). */
  nodes: readonly SparkNode[];
  /** Grafana's admin password (always stored as a Pulumi secret). */
  adminPassword: pulumi.Input<string>;
  /** The API key Prometheus sends to vLLM's /metrics. @default none (an unauthenticated server) */
  apiKey?: pulumi.Input<string>;
  /** Where Alertmanager sends the alerts. @default none (alerts are shown in Prometheus, not sent) */
  webhookUrl?: pulumi.Input<string>;
}

/** docker.Container inputs for one of the plan's observability containers (exported for tests). */
export function obsContainerArgs(
  c: ObsContainer,
  image: pulumi.Input<string>,
  configHash: string,
): docker.ContainerArgs {
  return {
    name: c.name,
    image,
    command: [...c.command],
    networkMode: "host",
    restart: "unless-stopped",
    ...(c.name.endsWith("node-exporter") ? { pidMode: "host" } : {}),
    volumes: c.mounts.map((m) =>
      m.volume
        ? { volumeName: m.source, containerPath: m.target, readOnly: m.readOnly }
        : { hostPath: m.source, containerPath: m.target, readOnly: m.readOnly },
    ),
    envs: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
    // A changed config file replaces the container, so it reads the new one.
    labels: [
      { label: "dgx-spark-vllm.managed", value: "true" },
      { label: "dgx-spark-vllm.config", value: configHash },
    ],
    mustRun: true,
    logs: false,
    wait: false,
  };
}

export class Observability extends pulumi.ComponentResource {
  /** Grafana on the head (the dashboard is its home page). */
  public readonly grafanaUrl: pulumi.Output<string>;
  /** Prometheus on the head. */
  public readonly prometheusUrl: pulumi.Output<string>;
  /** The containers: `prometheus`, `alertmanager`, `grafana`, and `node-exporter-<node>`. */
  public readonly containers: Readonly<Record<string, docker.Container>>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}Observability`, name, {}, opts);
    const obs = args.plan.observability;
    if (!obs.enabled)
      throw new Error(`Observability ${name}: the plan has observability off (set observability.enabled: true)`);
    const o: ObservabilityPlan = obs;
    const child = { parent: this };
    const byName = new Map(args.nodes.map((n) => [n.nodeName, n]));
    for (const n of args.plan.nodes) {
      if (!byName.has(n.name)) throw new Error(`Observability ${name}: node ${n.name} of the plan has no SparkNode`);
    }
    const head = byName.get(o.head) as SparkNode;
    // A dependsOn in opts reaches every child (as for the other components).
    const before = inheritedDependsOn(`Observability ${name}`, opts);

    const stdin = pulumi.secret(
      pulumi.interpolate`${args.apiKey ?? ""}\n${args.webhookUrl ?? ""}\n${args.adminPassword}\n`,
    );
    const configHash = createHash("sha256").update(JSON.stringify(o.files)).digest("hex").slice(0, 16);
    const files = stepCommand(
      `${name}-config`,
      head.connection,
      observabilityConfigStep(o),
      { ...child, dependsOn: [...before, ...head.ready] },
      { stdin, triggers: [configHash] },
    );

    const containers = obsContainers({ name, o, args, byName, files, before, configHash, parent: this });
    this.containers = containers;

    const up = (c: docker.Container, url: string) => c.id.apply(() => url);
    this.grafanaUrl = up(containers.grafana as docker.Container, o.grafana.url);
    this.prometheusUrl = up(containers.prometheus as docker.Container, o.prometheus.url);
    this.registerOutputs({ grafanaUrl: this.grafanaUrl, prometheusUrl: this.prometheusUrl });
  }
}

/** What the observability containers are built from. */
interface ObsBuild {
  readonly name: string;
  readonly o: ObservabilityPlan;
  readonly args: ObservabilityArgs;
  readonly byName: ReadonlyMap<string, SparkNode>;
  /** The head's config step: the head's containers start after it. */
  readonly files: pulumi.Resource;
  readonly before: pulumi.Input<pulumi.Resource>[];
  readonly configHash: string;
  readonly parent: pulumi.Resource;
}

/**
 * Prometheus, Alertmanager and Grafana on the head (their images pulled, their data volumes kept
 * on destroy only with keepDataOnDestroy) and a node exporter on every node, one docker provider per node.
 */
function obsContainers({
  name,
  o,
  args,
  byName,
  files,
  before,
  configHash,
  parent,
}: ObsBuild): Record<string, docker.Container> {
  const child = { parent };
  const providers = new Map<string, docker.Provider>();
  const providerFor = (node: string) => {
    let p = providers.get(node);
    if (!p) {
      p = dockerProviderFor(`${name}-${node}-docker`, byName.get(node) as SparkNode, parent);
      providers.set(node, p);
    }
    return p;
  };
  const image = (role: string, node: string, ref: string) =>
    new docker.RemoteImage(
      `${name}-${role}-image`,
      { name: ref, keepLocally: true },
      { ...child, provider: providerFor(node), dependsOn: before },
    ).imageId;

  const keep = o.keepDataOnDestroy;
  const volumes = Object.fromEntries(
    o.volumes.map((v) => [
      v,
      new docker.Volume(
        `${name}-${v}`,
        { name: v, labels: [{ label: "dgx-spark-vllm.managed", value: "true" }] },
        { ...child, provider: providerFor(o.head), retainOnDelete: keep },
      ),
    ]),
  );

  const containers: Record<string, docker.Container> = {};
  for (const role of ["prometheus", "alertmanager", "grafana"] as const) {
    const c = o[role];
    const uses = c.mounts.filter((m) => m.volume).map((m) => volumes[m.source] as docker.Volume);
    containers[role] = new docker.Container(
      `${name}-${role}`,
      obsContainerArgs(c, image(role, o.head, c.image), configHash),
      {
        ...child,
        provider: providerFor(o.head),
        deleteBeforeReplace: true, // fixed container names
        dependsOn: [files, ...uses],
      },
    );
  }
  for (const n of args.plan.nodes) {
    const c = o.nodeExporters[n.name] as ObsContainer;
    const spark = byName.get(n.name) as SparkNode;
    containers[`node-exporter-${n.name}`] = new docker.Container(
      `${name}-node-exporter-${n.name}`,
      obsContainerArgs(c, image(`node-exporter-${n.name}`, n.name, c.image), configHash),
      { ...child, provider: providerFor(n.name), deleteBeforeReplace: true, dependsOn: [...before, ...spark.ready] },
    );
  }
  return containers;
}
