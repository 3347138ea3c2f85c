/**
 * VllmService: the TP service. One docker.Container per node exactly as `plan.nodes[].container`
 * says (worker ranks first, the head last), secret variables from the secrets (never in argv), no
 * restart policy; the weight prefetch and the drop-caches sidecar on every node while the engine
 * loads, the sidecar removed once the readiness gate (`/health`, then `/v1/models` reporting the
 * profile's max_model_len) passes, and also when it fails (the gate's exit trap). Once ready, the
 * coordinated watchdog is installed on the head (src/plan/watchdog.ts) unless disabled.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { remote } from "@pulumi/command";
import {
  dropCachesLifetimeS,
  dropCachesSidecar,
  prefetchStep,
  READINESS_INTERVAL_S,
  READINESS_TIMEOUT_S,
  readinessScript,
} from "../plan/service";
import { watchdogStep } from "../plan/watchdog";
import type { ClusterPlan, ContainerSpec } from "../plan/types";
import { dockerProviderFor, sizeToMiB, stepCommand, TOKEN_PREFIX } from "./common";
import type { RoceLink } from "./roce-link";
import type { SparkNode } from "./spark-node";
import type { VllmImage } from "./vllm-image";

export interface VllmServiceArgs {
  /** The cluster plan (from `planCluster`). */
  plan: ClusterPlan;
  /** Every SparkNode of the plan. */
  nodes: SparkNode[];
  /** The image, present with the same ID on every node. */
  image: VllmImage;
  /** The verified RoCE link; containers start after it. @default none (no link dependency) */
  link?: RoceLink;
  /** API key (`VLLM_API_KEY` on the head, and the readiness gate's bearer token). @default none (plan must allow unauthenticated) */
  apiKey?: pulumi.Input<string>;
  /** Hugging Face token (`HF_TOKEN` in the containers and the prefetch, on stdin). @default none */
  hfToken?: pulumi.Input<string>;
  /** Readiness timeout, seconds. @default 1800 */
  readinessTimeoutSeconds?: number;
  /** Readiness poll interval, seconds. @default 10 */
  readinessIntervalSeconds?: number;
}

/** docker.Container inputs for a ContainerSpec (exported for tests). Secret variables come from `secrets`. */
export function containerArgs(
  node: string,
  spec: ContainerSpec,
  image: pulumi.Input<string>,
  secrets: Readonly<Record<string, pulumi.Input<string> | undefined>>,
): docker.ContainerArgs {
  const plainEnv = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  const secretEnv = spec.secretEnv.map((k) => {
    const v = secrets[k];
    if (v === undefined)
      throw new Error(`VllmService: node ${node}: container ${spec.name} needs the secret ${k} but none was given`);
    return pulumi.interpolate`${k}=${v}`;
  });
  const envs = secretEnv.length > 0 ? pulumi.secret(pulumi.all([...plainEnv, ...secretEnv])) : plainEnv;
  return {
    name: spec.name,
    image,
    // An empty entrypoint list would leave the image's own; [""] clears it (like --entrypoint "").
    entrypoints: spec.entrypoint.length > 0 ? [...spec.entrypoint] : [""],
    command: [...spec.command],
    networkMode: spec.network,
    ipcMode: spec.ipc,
    privileged: spec.privileged,
    ...(spec.capAdd.length > 0 ? { capabilities: { adds: [...spec.capAdd] } } : {}),
    ...(spec.devices.length > 0 ? { devices: spec.devices.map((d) => ({ hostPath: d, containerPath: d })) } : {}),
    ...(spec.shmSize ? { shmSize: sizeToMiB(spec.shmSize) } : {}),
    ...(spec.memoryLimit ? { memory: sizeToMiB(spec.memoryLimit) } : {}),
    gpus: spec.gpus,
    init: spec.init,
    ulimits: spec.ulimits.map((u) => ({ name: u.name, soft: u.soft, hard: u.hard })),
    volumes: spec.volumes.map((v) => ({ hostPath: v.hostPath, containerPath: v.containerPath })),
    envs,
    restart: spec.restart,
    labels: Object.entries(spec.labels).map(([label, value]) => ({ label, value })),
    mustRun: true,
    logs: false,
    wait: false,
  };
}

export class VllmService extends pulumi.ComponentResource {
  /** OpenAI-compatible base URL (resolves once the readiness gate passed). */
  public readonly endpoint: pulumi.Output<string>;
  /** The served model name. */
  public readonly servedModelName: pulumi.Output<string>;
  /** The context length `/v1/models` reported (equal to the profile's). */
  public readonly maxModelLen: pulumi.Output<number>;
  /** The containers, by node name. */
  public readonly containers: Readonly<Record<string, docker.Container>>;
  /** The readiness gate. */
  public readonly readiness: remote.Command;
  /** The watchdog's installation on the head (undefined when `serving.watchdog.enabled` is false). */
  public readonly watchdog: remote.Command | undefined;

  constructor(name: string, args: VllmServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}VllmService`, name, {}, opts);
    const plan = args.plan;
    const byName = new Map(args.nodes.map((n) => [n.nodeName, n]));
    for (const n of plan.nodes)
      if (!byName.has(n.name))
        throw new Error(`VllmService ${name}: node ${n.name} of the plan has no SparkNode in nodes`);
    if (plan.cluster.authenticated && args.apiKey === undefined)
      throw new Error(`VllmService ${name}: the plan requires an API key (serving.apiKey) but apiKey was not given`);
    const child = { parent: this };
    const secrets: Record<string, pulumi.Input<string> | undefined> = {
      HF_TOKEN: args.hfToken === undefined ? undefined : pulumi.secret(args.hfToken),
      VLLM_API_KEY: args.apiKey === undefined ? undefined : pulumi.secret(args.apiKey),
    };
    const headPlan = plan.nodes.find((n) => n.name === plan.cluster.head);
    if (!headPlan) throw new Error(`VllmService ${name}: the plan's head ${plan.cluster.head} is not among its nodes`);

    const timeout = args.readinessTimeoutSeconds ?? READINESS_TIMEOUT_S;
    // Per node: image ready -> (prefetch) -> (drop-caches sidecar).
    const before: Record<string, pulumi.Resource[]> = {};
    const sidecars: { node: string; stop: string; trigger: string }[] = [];
    const weights: Record<string, pulumi.Resource[]> = {};
    // The head first: a copy waits for the head's download.
    const headFirst = [...plan.nodes].sort(
      (a, b) => Number(b.name === plan.cluster.head) - Number(a.name === plan.cluster.head),
    );
    for (const n of headFirst) {
      const spark = byName.get(n.name) as SparkNode;
      let deps: pulumi.Resource[] = [args.image.readyOn[n.name] as pulumi.Resource, ...(args.link?.ready ?? [])];
      if (plan.model.prefetch) {
        const step = prefetchStep(plan, n);
        // A copy runs on the head, after the head's own download.
        const runner = byName.get(step.runsOn) as SparkNode;
        const first = step.waitsFor !== undefined ? (weights[step.waitsFor] ?? []) : [];
        const extra = step.waitsFor !== undefined ? [args.image.readyOn[step.waitsFor] as pulumi.Resource] : [];
        deps = [
          stepCommand(
            `${name}-${n.name}-${step.id}`,
            runner.connection,
            step,
            { ...child, dependsOn: [...deps, ...extra, ...first] },
            // Progress lines (stderr) reach the Pulumi log; the token stays on stdin.
            step.needsToken ? { stdin: secrets.HF_TOKEN ?? "", logging: "stderr" } : {},
          ),
        ];
        weights[n.name] = deps;
      }
      if (plan.hardening.dropCachesDuringLoad) {
        const sc = dropCachesSidecar(plan, n, dropCachesLifetimeS(plan, timeout));
        // Re-run whenever this node's container changes (a new load); deterministic JSON of plan data.
        const trigger = JSON.stringify(n.container);
        deps = [
          new remote.Command(
            `${name}-${n.name}-drop-caches`,
            { connection: spark.connection, create: sc.start, delete: sc.stop, triggers: [trigger] },
            { ...child, dependsOn: deps, deleteBeforeReplace: true },
          ),
        ];
        sidecars.push({ node: n.name, stop: sc.stop, trigger });
      }
      before[n.name] = deps;
    }

    // Containers in the plan's start order: workers first, the head last.
    const containers: Record<string, docker.Container> = {};
    const workers: docker.Container[] = [];
    for (const nodeName of plan.cluster.startOrder) {
      const n = plan.nodes.find((x) => x.name === nodeName);
      if (!n) throw new Error(`VllmService ${name}: start order names ${nodeName}, which is not a node of the plan`);
      const spark = byName.get(n.name) as SparkNode;
      const isHead = n.name === plan.cluster.head;
      if (n.container.pidsLimit !== undefined) {
        pulumi.log.warn(
          `node ${n.name}: pidsLimit ${n.container.pidsLimit} is not expressible with the docker provider's Container and is not applied`,
          this,
        );
      }
      const c = new docker.Container(
        `${name}-${n.name}`,
        containerArgs(n.name, n.container, args.image.imageRef, secrets),
        {
          ...child,
          provider: dockerProviderFor(`${name}-${n.name}-docker`, spark, this),
          deleteBeforeReplace: true, // fixed container names
          dependsOn: [...(before[n.name] ?? []), ...(isHead ? workers : [])],
        },
      );
      containers[n.name] = c;
      if (!isHead) workers.push(c);
    }
    this.containers = containers;
    const headContainer = containers[plan.cluster.head] as docker.Container;
    const headSpark = byName.get(plan.cluster.head) as SparkNode;

    this.readiness = new remote.Command(
      `${name}-readiness`,
      {
        connection: headSpark.connection,
        create: readinessScript(plan, headPlan, timeout, args.readinessIntervalSeconds ?? READINESS_INTERVAL_S),
        stdin: secrets.VLLM_API_KEY ?? "",
        logging: "stdoutAndStderr",
        triggers: plan.cluster.startOrder.map((n) => (containers[n] as docker.Container).id),
      },
      {
        ...child,
        dependsOn: [headContainer, ...workers],
        customTimeouts: { create: `${timeout + 300}s`, update: `${timeout + 300}s` },
      },
    );

    const stops: remote.Command[] = [];
    for (const sc of sidecars) {
      const spark = byName.get(sc.node) as SparkNode;
      stops.push(
        new remote.Command(
          `${name}-${sc.node}-drop-caches-stop`,
          { connection: spark.connection, create: sc.stop, triggers: [sc.trigger] },
          { ...child, dependsOn: [this.readiness], deleteBeforeReplace: true },
        ),
      );
    }

    // The coordinated watchdog on the head, once the service is ready and the sidecars are gone.
    // Re-installed (which clears a gave-up state) whenever a container is replaced; removed first on destroy.
    this.watchdog = plan.watchdog.enabled
      ? stepCommand(
          `${name}-watchdog`,
          headSpark.connection,
          watchdogStep(plan),
          { ...child, dependsOn: [this.readiness, ...stops] },
          {
            stdin: secrets.VLLM_API_KEY ?? "",
            triggers: plan.cluster.startOrder.map((n) => (containers[n] as docker.Container).id),
          },
        )
      : undefined;

    this.endpoint = this.readiness.stdout.apply(() => plan.cluster.endpoint);
    this.servedModelName = pulumi.output(plan.model.servedName);
    this.maxModelLen = this.readiness.stdout.apply(() => plan.profile.maxModelLen);
    this.registerOutputs({
      endpoint: this.endpoint,
      servedModelName: this.servedModelName,
      maxModelLen: this.maxModelLen,
    });
  }
}
