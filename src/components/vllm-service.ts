/**
 * VllmService: the TP service. Takes its ranks (each a node and its container spec), the image and
 * the readiness gate; `VllmService.fromPlan(plan, {...})` gives them from a ClusterPlan. One
 * docker.Container per rank exactly as its spec says (worker ranks first, the head last), secret
 * variables from a root-only file on the node written from stdin (never in argv, env or anything
 * docker stores), no restart policy; the weight prefetch and the drop-caches sidecar on every node while the engine
 * loads, the sidecar removed once the readiness gate (`/health`, then `/v1/models` reporting the
 * profile's max_model_len) passes, and also when it fails (the gate's exit trap). Once ready, the
 * coordinated watchdog is installed on the head (src/plan/watchdog.ts) unless disabled. An update
 * that may replace a container holds the watchdog first (a bounded pause that expires by itself)
 * and releases it once ready, so the two never race.
 */
import { createHash } from "node:crypto";
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
import { secretsFileStdin, secretsFileStep } from "../plan/secrets-file";
import { HOLD_MARGIN_S, watchdogHoldStep, watchdogStep, watchdogUnholdScript } from "../plan/watchdog";
import type { ConfigProblem } from "../config/errors";
import type { ClusterPlan, ContainerSpec, HostStep } from "../plan/types";
import {
  dockerProviderFor,
  inheritedDependsOn,
  logWarnings,
  nodesByName,
  sizeToMiB,
  stepCommand,
  TOKEN_PREFIX,
  warningsFor,
  type SparkNodeAccess,
} from "./common";
import type { SparkNode } from "./spark-node";
import type { VllmImage } from "./vllm-image";

/** The container label holding the id of the step that wrote its secrets file (a new secret: a new id, a new container). */
export const SECRETS_LABEL = "dgx-spark-vllm.secrets";
/** The container label holding the ranks' generation: a hash of every rank's spec, the image and the secrets steps' ids. */
export const GENERATION_LABEL = "dgx-spark-vllm.generation";

/** One rank of the service: a node and what runs there. */
export interface VllmRank {
  /** A SparkNode, or any node with the same access (name, connection, dockerHost, ready). */
  node: SparkNode | SparkNodeAccess;
  /** The container, exactly as created (secret variables by name in `secretEnv`). */
  container: ContainerSpec;
  /**
   * The weights step before the container starts (download, copy or check; the HF token on stdin
   * when `needsToken`). `runsOn`: the node whose connection runs it (a copy runs on the head);
   * `waitsFor`: the node whose weights step must finish first. @default none
   */
  prefetch?: HostStep & { runsOn?: string; waitsFor?: string; needsToken?: boolean };
  /**
   * A page-cache dropper running while the engine loads: started before the container, stopped
   * once the readiness gate passed (and by the gate itself when it fails).
   * @default none
   */
  dropCaches?: { start: string; stop: string };
}

/** The image the containers run: a VllmImage, or its reference (e.g. from another stack). */
export interface VllmServiceImage {
  /** The image reference (a VllmImage's resolves once every node reports the same ID). */
  imageRef: pulumi.Input<string>;
  /** Per node name, the resource after which the image is there. @default none (pass it in opts.dependsOn) */
  readyOn?: Readonly<Record<string, pulumi.Resource>>;
}

export interface VllmServiceArgs {
  /** The image. */
  image: VllmImage | VllmServiceImage;
  /** The head rank: started last; the readiness gate and the watchdog run there. */
  head: VllmRank;
  /** The other ranks, started first, in order. @default [] */
  workers?: readonly VllmRank[];
  /** The readiness gate, run on the head once every container is created. */
  readiness: {
    /** Exits 0 once the service answers as expected; reads the API key on stdin. */
    script: string;
    /** Seconds the script may take (the command's own timeout is 300 s more). @default 1800 */
    timeoutSeconds?: number;
  };
  /** Installed on the head after readiness (and the sidecars' removal); the API key on stdin. @default none */
  watchdog?: HostStep;
  /**
   * The update's bounded hold of the watchdog: `hold` runs on the head before any container is
   * replaced (it expires by itself), `unholdScript` once ready. @default none (`fromPlan` gives the
   * plan's when the watchdog is on)
   */
  watchdogHold?: { hold: HostStep; unholdScript: string };
  /** The OpenAI-compatible base URL (an output once ready). */
  endpoint: string;
  /** The served model name (an output). */
  servedModelName: string;
  /** The context length the gate checks (an output once ready). */
  maxModelLen: number;
  /** API key (`VLLM_API_KEY` where a container asks for it, and the gate's bearer token). @default none */
  apiKey?: pulumi.Input<string>;
  /** Hugging Face token (`HF_TOKEN` where a container asks for it, and the prefetch's stdin). @default none */
  hfToken?: pulumi.Input<string>;
  /** Config warnings about serving, shown as Pulumi warnings on it. @default [] */
  warnings?: readonly ConfigProblem[];
}

/** What `VllmService.fromPlan` needs besides the plan. */
export interface VllmServiceFromPlan {
  /** Every node of the plan (SparkNodes or their access). */
  nodes: readonly (SparkNode | SparkNodeAccess)[];
  /** The image. */
  image: VllmImage | VllmServiceImage;
  /** API key. @default none: required when the plan is authenticated */
  apiKey?: pulumi.Input<string>;
  /** Hugging Face token. @default none */
  hfToken?: pulumi.Input<string>;
  /** Readiness timeout, seconds. @default 1800 */
  readinessTimeoutSeconds?: number;
  /** Readiness poll interval, seconds. @default 10 */
  readinessIntervalSeconds?: number;
  /** Show the plan's serving warnings on it. @default true */
  warnings?: boolean;
}

/**
 * docker.Container inputs for a ContainerSpec (exported for tests). `envs` holds only the plain
 * variables: the secret ones come from the spec's secrets file (mounted read-only, exported by the
 * command's wrapper), so no secret value is in docker's container config. `secretsRevision` (the
 * id of the step that wrote that file) becomes the label `dgx-spark-vllm.secrets`, so a new
 * secret replaces the container.
 */
export function containerArgs(
  node: string,
  spec: ContainerSpec,
  image: pulumi.Input<string>,
  secretsRevision?: pulumi.Input<string>,
  generation?: pulumi.Input<string>,
): docker.ContainerArgs {
  if (spec.secretEnv.length > 0 && !spec.secretsFile)
    throw new Error(
      `VllmService: node ${node}: container ${spec.name} lists secretEnv (${spec.secretEnv.join(", ")})` +
        ` but no secretsFile: build the spec with containerSpec (or withSecretsFile)` +
        ` so the values come from a file, not from docker's config`,
    );
  const envs = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  const labels: docker.types.input.ContainerLabel[] = Object.entries(spec.labels).map(([label, value]) => ({
    label,
    value,
  }));
  if (secretsRevision !== undefined) labels.push({ label: SECRETS_LABEL, value: secretsRevision });
  if (generation !== undefined) labels.push({ label: GENERATION_LABEL, value: generation });
  return {
    name: spec.name,
    image,
    // No entrypoint in the spec (`--entrypoint ""`): the argv's first word is the entrypoint, so the
    // image's own is cleared and the process runs the same argv. Not [""]: the docker provider
    // reads that back as no entrypoint, a difference that replaced every container on each `up`.
    ...(spec.entrypoint.length > 0
      ? { entrypoints: [...spec.entrypoint], command: [...spec.command] }
      : { entrypoints: spec.command.slice(0, 1), command: spec.command.slice(1) }),
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
    volumes: spec.volumes.map((v) => ({
      hostPath: v.hostPath,
      containerPath: v.containerPath,
      ...(v.readOnly ? { readOnly: true } : {}),
    })),
    envs,
    restart: spec.restart,
    labels,
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
  /** The update's bounded hold of the watchdog, before any container is replaced (with the watchdog). */
  public readonly watchdogHold: remote.Command | undefined;
  /** Its release once readiness passed (with the watchdog). */
  public readonly watchdogUnhold: remote.Command | undefined;

  /** The args for a plan's service. Throws when a node is missing or the plan needs an API key that is not given. */
  static fromPlan(plan: ClusterPlan, args: VllmServiceFromPlan): VllmServiceArgs {
    const node = nodesByName(
      "VllmService.fromPlan",
      plan.nodes.map((n) => n.name),
      args.nodes,
    );
    if (plan.cluster.authenticated && args.apiKey === undefined)
      throw new Error("VllmService.fromPlan: the plan requires an API key (serving.apiKey) but apiKey was not given");
    const timeout = args.readinessTimeoutSeconds ?? READINESS_TIMEOUT_S;
    const rank = (name: string): VllmRank => {
      const n = plan.nodes.find((x) => x.name === name);
      if (!n)
        throw new Error(`VllmService.fromPlan: the plan's start order names ${name}, which is not among its nodes`);
      return {
        node: node(n.name),
        container: n.container,
        ...(plan.model.prefetch ? { prefetch: prefetchStep(plan, n) } : {}),
        ...(plan.hardening.dropCachesDuringLoad
          ? (() => {
              const sc = dropCachesSidecar(plan, n, dropCachesLifetimeS(plan, timeout));
              return { dropCaches: { start: sc.start, stop: sc.stop } };
            })()
          : {}),
      };
    };
    const head = plan.nodes.find((n) => n.name === plan.cluster.head);
    if (!head) throw new Error(`VllmService.fromPlan: the plan's head ${plan.cluster.head} is not among its nodes`);
    return {
      image: args.image,
      head: rank(head.name),
      workers: plan.cluster.startOrder.filter((n) => n !== head.name).map(rank),
      readiness: {
        script: readinessScript(plan, head, timeout, args.readinessIntervalSeconds ?? READINESS_INTERVAL_S),
        timeoutSeconds: timeout,
      },
      ...(plan.watchdog.enabled
        ? {
            watchdog: watchdogStep(plan),
            watchdogHold: {
              hold: watchdogHoldStep(plan, timeout + HOLD_MARGIN_S),
              unholdScript: watchdogUnholdScript(plan),
            },
          }
        : {}),
      endpoint: plan.cluster.endpoint,
      servedModelName: plan.model.servedName,
      maxModelLen: plan.profile.maxModelLen,
      ...(args.apiKey !== undefined ? { apiKey: args.apiKey } : {}),
      ...(args.hfToken !== undefined ? { hfToken: args.hfToken } : {}),
      warnings: (args.warnings ?? true) ? warningsFor(plan, "service") : [],
    };
  }

  constructor(name: string, args: VllmServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}VllmService`, name, {}, opts);
    logWarnings(args.warnings, this);
    const inherited = inheritedDependsOn(`VllmService ${name}`, opts);
    const ranks = [...(args.workers ?? []), args.head];
    const names = ranks.map((r) => r.node.nodeName);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0) throw new Error(`VllmService ${name}: node ${twice.join(", ")} has more than one rank`);
    const b: Build = {
      name,
      args,
      ranks,
      timeout: args.readiness.timeoutSeconds ?? READINESS_TIMEOUT_S,
      child: (deps) => ({ parent: this, dependsOn: [...inherited, ...deps] }),
      secrets: {
        HF_TOKEN: args.hfToken === undefined ? undefined : pulumi.secret(args.hfToken),
        VLLM_API_KEY: args.apiKey === undefined ? undefined : pulumi.secret(args.apiKey),
      },
    };
    const { before, sidecars } = beforeStart(b);

    // The watchdog is held (a bounded pause) before any container is replaced, and released once
    // ready: an update never races it. Triggers: whatever replaces a container (its spec, the
    // image, a secret in its environment: as a digest, itself secret).
    const updateTriggers = updateTriggersOf(b);
    const hold = args.watchdogHold
      ? stepCommand(
          `${name}-watchdog-hold`,
          args.head.node.connection,
          args.watchdogHold.hold,
          { ...b.child(Object.values(before).flat()), deleteBeforeReplace: true },
          { triggers: updateTriggers },
        )
      : undefined;
    for (const r of ranks)
      if (r.container.pidsLimit !== undefined)
        pulumi.log.warn(
          `node ${r.node.nodeName}: pidsLimit ${r.container.pidsLimit} is not expressible with the docker provider's Container and is not applied`,
          this,
        );
    const { containers, workers, all } = rankContainers(b, before, secretsFiles(b), hold, this);
    this.containers = containers;
    this.readiness = readinessGate(b, all, workers);

    const stops = sidecarStops(b, sidecars, this.readiness);
    const { child, secrets } = b;

    // The coordinated watchdog on the head, once the service is ready and the sidecars are gone.
    // Re-installed (which clears a gave-up state) whenever a container is replaced; removed first on destroy.
    this.watchdog = args.watchdog
      ? stepCommand(`${name}-watchdog`, args.head.node.connection, args.watchdog, child([this.readiness, ...stops]), {
          stdin: secrets.VLLM_API_KEY ?? "",
          triggers: all.map((c) => c.id),
        })
      : undefined;
    // The update's hold ends once ready (and the watchdog re-installed); if readiness fails, it expires by itself.
    this.watchdogUnhold =
      hold && args.watchdogHold
        ? new remote.Command(
            `${name}-watchdog-unhold`,
            { connection: args.head.node.connection, create: args.watchdogHold.unholdScript, triggers: updateTriggers },
            { ...child([this.readiness, ...(this.watchdog ? [this.watchdog] : [])]), deleteBeforeReplace: true },
          )
        : undefined;
    this.watchdogHold = hold;

    const endpoint = args.endpoint;
    const maxModelLen = args.maxModelLen;
    this.endpoint = this.readiness.stdout.apply(() => endpoint);
    this.servedModelName = pulumi.output(args.servedModelName);
    this.maxModelLen = this.readiness.stdout.apply(() => maxModelLen);
    this.registerOutputs({
      endpoint: this.endpoint,
      servedModelName: this.servedModelName,
      maxModelLen: this.maxModelLen,
    });
  }
}

/** What the service's resources are built from. */
interface Build {
  readonly name: string;
  readonly args: VllmServiceArgs;
  /** Workers first, the head last (start order). */
  readonly ranks: readonly VllmRank[];
  readonly timeout: number;
  /** A child's options: this component as parent, the inherited dependencies plus `deps`. */
  readonly child: (deps: pulumi.Input<pulumi.Resource>[]) => pulumi.CustomResourceOptions;
  readonly secrets: Record<string, pulumi.Input<string> | undefined>;
}

/**
 * Per rank: image ready -> (weights) -> (drop-caches sidecar). The head first: a copy of the
 * weights to a worker runs on the head, after the head's own download.
 */
function beforeStart({ name, args, ranks, child, secrets }: Build): {
  before: Record<string, pulumi.Input<pulumi.Resource>[]>;
  sidecars: { rank: VllmRank; stop: string; trigger: string }[];
} {
  const readyOn = args.image.readyOn ?? {};
  const before: Record<string, pulumi.Input<pulumi.Resource>[]> = {};
  const sidecars: { rank: VllmRank; stop: string; trigger: string }[] = [];
  const weights: Record<string, pulumi.Input<pulumi.Resource>[]> = {};
  const rankOf = new Map(ranks.map((r) => [r.node.nodeName, r]));
  for (const r of [args.head, ...(args.workers ?? [])]) {
    const nodeName = r.node.nodeName;
    const image = readyOn[nodeName];
    let deps: pulumi.Input<pulumi.Resource>[] = image ? [image] : [];
    if (r.prefetch) {
      const step = r.prefetch;
      const runner = step.runsOn !== undefined ? rankOf.get(step.runsOn) : r;
      if (!runner)
        throw new Error(
          `VllmService ${name}: the weights step of ${nodeName} runs on ${step.runsOn}, which has no rank`,
        );
      const first = step.waitsFor !== undefined ? [...(weights[step.waitsFor] ?? [])] : [];
      const waitImage = step.waitsFor !== undefined ? readyOn[step.waitsFor] : undefined;
      deps = [
        stepCommand(
          `${name}-${nodeName}-${step.id}`,
          runner.node.connection,
          step,
          child([...deps, ...(waitImage ? [waitImage] : []), ...first]),
          // Progress lines (stderr) reach the Pulumi log; the token stays on stdin.
          (step.needsToken ?? true) ? { stdin: secrets.HF_TOKEN ?? "", logging: "stderr" } : {},
        ),
      ];
      weights[nodeName] = deps;
    }
    if (r.dropCaches) {
      // Re-run whenever this node's container changes (a new load); deterministic JSON of plan data.
      const trigger = JSON.stringify(r.container);
      deps = [
        new remote.Command(
          `${name}-${nodeName}-drop-caches`,
          {
            connection: r.node.connection,
            create: r.dropCaches.start,
            delete: r.dropCaches.stop,
            triggers: [trigger],
          },
          { ...child(deps), deleteBeforeReplace: true },
        ),
      ];
      sidecars.push({ rank: r, stop: r.dropCaches.stop, trigger });
    }
    before[nodeName] = deps;
  }

  return { before, sidecars };
}

/** What replaces a container: every rank's spec, the image, and a digest of the secrets (itself secret). */
function updateTriggersOf({ args, ranks, secrets }: Build): pulumi.Input<unknown>[] {
  const secretDigest = pulumi
    .all([secrets.HF_TOKEN ?? "", secrets.VLLM_API_KEY ?? ""])
    .apply(([a, b]) => createHash("sha256").update(`${a}\0${b}`).digest("hex"));
  return [
    JSON.stringify(ranks.map((r) => r.container)),
    "imageId" in args.image ? args.image.imageId : args.image.imageRef,
    pulumi.secret(secretDigest),
  ];
}

/** Every rank's secrets file, by node (none for a container without secrets). */
function secretsFiles({ name, ranks, child, secrets }: Build): Record<string, remote.Command | undefined> {
  const secretsFiles: Record<string, remote.Command | undefined> = {};
  for (const r of ranks) {
    const nodeName = r.node.nodeName;
    // The secret variables' values: a root-only file on the node, written from stdin (a new
    // value replaces the step, and through its id in a label the container); never in its config.
    const secretsStep = secretsFileStep(r.container);
    let secretsFile: remote.Command | undefined;
    if (secretsStep) {
      const names = r.container.secretEnv;
      const values = names.map((k) => {
        const v = secrets[k];
        if (v === undefined)
          throw new Error(
            `VllmService: node ${nodeName}: container ${r.container.name} needs the secret ${k} but none was given`,
          );
        return v;
      });
      const stdin = pulumi.secret(pulumi.all(values).apply((vs) => secretsFileStdin(names, vs)));
      secretsFile = stepCommand(
        `${name}-${nodeName}-${secretsStep.id}`,
        r.node.connection,
        secretsStep,
        {
          ...child([]),
          deleteBeforeReplace: true, // one file per container: remove the old one before writing the new
        },
        { stdin, triggers: [stdin] },
      );
    }
    secretsFiles[nodeName] = secretsFile;
  }
  return secretsFiles;
}

/**
 * The ranks' containers in start order: workers first, the head last (it waits for every worker).
 * One generation for all ranks: a change to any rank's spec, the image or a secret replaces every
 * rank (a TP rank cannot rejoin running peers), and the hold stops the old head first.
 */
function rankContainers(
  { name, args, ranks, child }: Build,
  before: Record<string, pulumi.Input<pulumi.Resource>[]>,
  secretsFiles: Record<string, remote.Command | undefined>,
  hold: remote.Command | undefined,
  parent: pulumi.Resource,
): { containers: Record<string, docker.Container>; workers: docker.Container[]; all: docker.Container[] } {
  const generation = pulumi
    .all([
      "imageId" in args.image ? args.image.imageId : args.image.imageRef,
      ...ranks.map((r) => secretsFiles[r.node.nodeName]?.id ?? ""),
    ])
    .apply(([img, ...ids]) =>
      createHash("sha256")
        .update(JSON.stringify([ranks.map((r) => r.container), img, ids]))
        .digest("hex")
        .slice(0, 16),
    );

  const containers: Record<string, docker.Container> = {};
  const workers: docker.Container[] = [];
  for (const r of ranks) {
    const nodeName = r.node.nodeName;
    const isHead = r === args.head;
    const secretsFile = secretsFiles[nodeName];
    const c = new docker.Container(
      `${name}-${nodeName}`,
      containerArgs(nodeName, r.container, args.image.imageRef, secretsFile?.id, generation),
      {
        ...child([
          ...(before[nodeName] ?? []),
          ...(secretsFile ? [secretsFile] : []),
          ...(hold ? [hold] : []),
          ...(isHead ? workers : []),
        ]),
        provider: dockerProviderFor(`${name}-${nodeName}-docker`, r.node, parent),
        deleteBeforeReplace: true, // fixed container names
      },
    );
    containers[nodeName] = c;
    if (!isHead) workers.push(c);
  }
  const all = ranks.map((r) => containers[r.node.nodeName]).filter((c): c is docker.Container => c !== undefined);
  return { containers, workers, all };
}

/** The readiness gate on the head, after every rank's container (re-run when any is replaced). */
function readinessGate(
  { name, args, child, secrets, timeout }: Build,
  all: docker.Container[],
  workers: docker.Container[],
) {
  const headContainer = all[all.length - 1];
  return new remote.Command(
    `${name}-readiness`,
    {
      connection: args.head.node.connection,
      create: args.readiness.script,
      stdin: secrets.VLLM_API_KEY ?? "",
      logging: "stdoutAndStderr",
      triggers: all.map((c) => c.id),
    },
    {
      ...child([...(headContainer ? [headContainer] : []), ...workers]),
      customTimeouts: { create: `${timeout + 300}s`, update: `${timeout + 300}s` },
    },
  );
}

/** Each drop-caches sidecar stopped once the service is ready (again whenever its node's container changes). */
function sidecarStops(
  { name, child }: Build,
  sidecars: { rank: VllmRank; stop: string; trigger: string }[],
  readiness: remote.Command,
): remote.Command[] {
  return sidecars.map(
    (sc) =>
      new remote.Command(
        `${name}-${sc.rank.node.nodeName}-drop-caches-stop`,
        { connection: sc.rank.node.connection, create: sc.stop, triggers: [sc.trigger] },
        { ...child([readiness]), deleteBeforeReplace: true },
      ),
  );
}
