/**
 * VllmImage: the sm_121 vLLM image on every node. Source build: built once on the plan's build
 * node through its docker provider (linux/arm64, docker/Dockerfile, the plan's build args), then
 * streamed `docker save | ssh docker load` from that node to the others. Prebuilt: pulled on
 * every node. Either way every node must report the same image ID, or the update fails.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { remote } from "@pulumi/command";
import { imageIdScript, imagePresenceStep, imageTransferScript } from "../plan/service";
import type { ClusterPlan } from "../plan/types";
import { dockerProviderFor, stepCommand, TOKEN_PREFIX } from "./common";
import type { SparkNode } from "./spark-node";

/** This package's root (holds docker/): dist/src/components -> ../../.. ; src/components -> ../.. */
export function packageRoot(): string {
  const up2 = path.resolve(__dirname, "..", "..");
  return path.basename(up2) === "dist" ? path.dirname(up2) : up2;
}

export interface VllmImageArgs {
  /** The cluster plan (from `planCluster`). */
  plan: ClusterPlan;
  /** Every SparkNode of the plan. */
  nodes: SparkNode[];
  /**
   * Folder the plan's `image.context` / `image.dockerfile` are relative to.
   * @default this package's root (it ships docker/)
   */
  contextRoot?: string;
  /** Resources the image must wait for (e.g. the verified link). @default [] */
  dependsOn?: pulumi.Resource[];
}

/** Throw unless every node reports the same image ID (pure; exported for tests). */
export function checkSameImageId(tag: string, ids: Readonly<Record<string, string>>): string {
  const trimmed = Object.entries(ids).map(([n, id]) => [n, id.trim()] as const);
  const distinct = [...new Set(trimmed.map(([, id]) => id))];
  if (distinct.length !== 1 || !distinct[0]) {
    throw new Error(
      `VllmImage: nodes do not report the same image ID for ${tag} (TP needs the identical image on every node): ${trimmed.map(([n, id]) => `${n}=${id || "missing"}`).join(", ")}`,
    );
  }
  return distinct[0];
}

export class VllmImage extends pulumi.ComponentResource {
  /** The image reference every container runs; resolves only once every node reports the same image ID. */
  public readonly imageRef: pulumi.Output<string>;
  /** The image ID, identical on every node (the update fails otherwise). */
  public readonly imageId: pulumi.Output<string>;
  /** Image ID reported by each node. */
  public readonly nodeImageIds: pulumi.Output<Record<string, string>>;
  /** Build metadata (vLLM ref, PR, FlashInfer ref, NCCL ref, arch, torch) as labelled on the image; {} for prebuilt. */
  public readonly labels: pulumi.Output<Record<string, string>>;
  /** Per node: the resource after which the image is present there. */
  public readonly readyOn: Readonly<Record<string, pulumi.Resource>>;
  /** The source build, when `plan.image.source` is "build". */
  public readonly build?: docker.Image;

  constructor(name: string, args: VllmImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}VllmImage`, name, {}, opts);
    const plan = args.plan;
    const img = plan.image;
    const byName = new Map(args.nodes.map((n) => [n.nodeName, n]));
    for (const n of plan.nodes)
      if (!byName.has(n.name))
        throw new Error(`VllmImage ${name}: node ${n.name} of the plan has no SparkNode in nodes`);
    const child = { parent: this };
    const extra = args.dependsOn ?? [];

    const presence: Record<string, remote.Command> = {};
    for (const n of plan.nodes) {
      const spark = byName.get(n.name) as SparkNode;
      const step = imagePresenceStep(plan, n);
      presence[n.name] = stepCommand(`${name}-${n.name}-${step.id}`, spark.connection, step, {
        ...child,
        dependsOn: [...spark.ready, ...extra],
      });
    }

    const readyOn: Record<string, pulumi.Resource> = {};
    let trigger: pulumi.Input<string>;
    if (img.source === "build") {
      const head = byName.get(img.buildNode);
      const headPlan = plan.nodes.find((n) => n.name === img.buildNode);
      if (!head || !headPlan) throw new Error(`VllmImage ${name}: build node ${img.buildNode} has no SparkNode`);
      const root = args.contextRoot ?? packageRoot();
      this.build = new docker.Image(
        `${name}-build`,
        {
          imageName: img.tag,
          skipPush: true,
          build: {
            context: path.join(root, img.context),
            dockerfile: path.join(root, img.dockerfile),
            platform: img.platform,
            args: { ...img.buildArgs },
          },
        },
        {
          ...child,
          provider: dockerProviderFor(`${name}-${img.buildNode}-docker`, head, this),
          dependsOn: [presence[img.buildNode] as remote.Command],
        },
      );
      trigger = pulumi.all([this.build.id, this.build.repoDigest]).apply(([id, d]) => `${id}|${d ?? ""}`);
      readyOn[img.buildNode] = this.build;
      for (const n of plan.nodes) {
        if (n.name === img.buildNode) continue;
        readyOn[n.name] = new remote.Command(
          `${name}-${n.name}-transfer`,
          { connection: head.connection, create: imageTransferScript(plan, headPlan, n), triggers: [trigger] },
          { ...child, dependsOn: [this.build, presence[n.name] as remote.Command] },
        );
      }
      this.labels = pulumi.output({ ...img.labels });
    } else {
      trigger = img.tag;
      for (const n of plan.nodes) readyOn[n.name] = presence[n.name] as remote.Command;
      this.labels = pulumi.output<Record<string, string>>({});
    }

    const ids: Record<string, pulumi.Output<string>> = {};
    const idCommands: Record<string, remote.Command> = {};
    for (const n of plan.nodes) {
      const spark = byName.get(n.name) as SparkNode;
      const cmd = new remote.Command(
        `${name}-${n.name}-image-id`,
        { connection: spark.connection, create: imageIdScript(plan, n), triggers: [trigger] },
        { ...child, dependsOn: [readyOn[n.name] as pulumi.Resource] },
      );
      idCommands[n.name] = cmd;
      ids[n.name] = cmd.stdout;
    }
    this.readyOn = idCommands;
    this.nodeImageIds = pulumi.output(ids) as pulumi.Output<Record<string, string>>;
    this.imageId = this.nodeImageIds.apply((m) => checkSameImageId(img.tag, m));
    // Gated on the check: a container using imageRef is not created when the IDs differ.
    this.imageRef = this.imageId.apply(() => img.tag);
    this.registerOutputs({
      imageRef: this.imageRef,
      imageId: this.imageId,
      nodeImageIds: this.nodeImageIds,
      labels: this.labels,
    });
  }
}
