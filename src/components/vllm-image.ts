/**
 * VllmImage: the sm_121 vLLM image on every node. Source build: built once on the plan's build
 * node through its docker provider (linux/arm64, docker/Dockerfile, the plan's build args), then
 * streamed `docker save | ssh docker load` from that node to the others. Prebuilt: pulled on
 * every node. Either way every node must report the same image ID, or the update fails. Takes the
 * tag, the nodes (each with its presence step, ID script and transfer) and the build;
 * `VllmImage.fromPlan(plan, {...})` gives them from a ClusterPlan, with build paths relative to the
 * program's folder so no input depends on where the package or the program lives.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { remote } from "@pulumi/command";
import { imageIdScript, imagePresenceStep, imageTransferScript } from "../plan/service";
import type { ConfigProblem } from "../config/errors";
import type { ClusterPlan, HostStep } from "../plan/types";
import {
  dockerProviderFor,
  inheritedDependsOn,
  logWarnings,
  nodesByName,
  stepCommand,
  TOKEN_PREFIX,
  warningsFor,
  type SparkNodeAccess,
} from "./common";
import type { SparkNode } from "./spark-node";

/** This package's root (holds docker/): dist/src/components -> ../../.. ; src/components -> ../.. */
export function packageRoot(): string {
  const up2 = path.resolve(__dirname, "..", "..");
  return path.basename(up2) === "dist" ? path.dirname(up2) : up2;
}

/** One node the image must be on. */
export interface VllmImageNode {
  /** A SparkNode, or any node with the same access (name, connection, dockerHost, ready). */
  node: SparkNode | SparkNodeAccess;
  /**
   * Runs first: notes whether the image was there before (and pulls a prebuilt one); its delete
   * removes the image only when this put it there.
   */
  presence: HostStep;
  /** Prints the image's ID on the node (stdout), failing when the image is missing. */
  idScript: string;
  /**
   * Run on the build node, after the build: copies the image to this node. Absent on the build
   * node itself and for a prebuilt image.
   * @default none
   */
  transfer?: { create: string; delete?: string };
}

/** A source build on one node through its docker provider. */
export interface VllmImageBuild {
  /** The node that builds: one of `nodes`. */
  node: SparkNode | SparkNodeAccess;
  /**
   * Build context, as the docker provider reads it: relative to the Pulumi program's working
   * directory (`fromPlan` gives the package's `docker/` that way, so the input does not change
   * with where the package or the program is checked out).
   */
  context: string;
  /** The Dockerfile, relative to the working directory as well. */
  dockerfile: string;
  /** @default "linux/arm64" */
  platform?: string;
  /** Build args. @default {} */
  args?: Readonly<Record<string, string>>;
  /** Labels the Dockerfile sets from the args (an output only). @default {} */
  labels?: Readonly<Record<string, string>>;
}

export interface VllmImageArgs {
  /** The image reference every node must hold with the same image ID. */
  tag: string;
  /** Every node the image must be on. */
  nodes: readonly VllmImageNode[];
  /** Build the image on one node. @default none: a prebuilt image (each node's presence step pulls it) */
  build?: VllmImageBuild;
  /** Config warnings about the image, shown as Pulumi warnings on it. @default [] */
  warnings?: readonly ConfigProblem[];
}

/** What `VllmImage.fromPlan` needs besides the plan. */
export interface VllmImageFromPlan {
  /** Every node of the plan (SparkNodes or their access). */
  nodes: readonly (SparkNode | SparkNodeAccess)[];
  /**
   * Folder the plan's `image.context` / `image.dockerfile` are relative to.
   * @default this package's root (it ships docker/)
   */
  contextRoot?: string;
  /** Show the plan's image warnings on it. @default true */
  warnings?: boolean;
}

/**
 * `p` relative to the working directory (the Pulumi program's folder, where the docker provider
 * resolves relative build paths), with forward slashes: the same text on every machine that
 * lays the project out the same way, wherever it is checked out.
 */
export function programRelative(p: string, cwd: string = process.cwd()): string {
  return path.relative(cwd, path.resolve(cwd, p)).split(path.sep).join("/") || ".";
}

/** Throw unless every node reports the same image ID (pure; exported for tests). */
export function checkSameImageId(tag: string, ids: Readonly<Record<string, string>>): string {
  const trimmed = Object.entries(ids).map(([n, id]) => [n, id.trim()] as const);
  const distinct = [...new Set(trimmed.map(([, id]) => id))];
  if (distinct.length !== 1 || !distinct[0]) {
    throw new Error(
      `VllmImage: nodes do not report the same image ID for ${tag} (TP needs the identical image on every node)` +
        `: ${trimmed.map(([n, id]) => `${n}=${id || "missing"}`).join(", ")}`,
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

  /** The args for a plan's image. Throws naming every node of the plan missing from `nodes`. */
  static fromPlan(plan: ClusterPlan, args: VllmImageFromPlan): VllmImageArgs {
    const img = plan.image;
    const node = nodesByName(
      "VllmImage.fromPlan",
      plan.nodes.map((n) => n.name),
      args.nodes,
    );
    const buildPlan = img.source === "build" ? plan.nodes.find((n) => n.name === img.buildNode) : undefined;
    if (img.source === "build" && !buildPlan)
      throw new Error(`VllmImage.fromPlan: the build node ${img.buildNode} is not a node of the plan`);
    const nodes: VllmImageNode[] = plan.nodes.map((n) => ({
      node: node(n.name),
      presence: imagePresenceStep(plan, n),
      idScript: imageIdScript(plan, n),
      ...(buildPlan && n !== buildPlan ? { transfer: { create: imageTransferScript(plan, buildPlan, n) } } : {}),
    }));
    const root = args.contextRoot ?? packageRoot();
    return {
      tag: img.tag,
      nodes,
      ...(img.source === "build"
        ? {
            build: {
              node: node(img.buildNode),
              context: programRelative(path.join(root, img.context)),
              dockerfile: programRelative(path.join(root, img.dockerfile)),
              platform: img.platform,
              args: img.buildArgs,
              labels: img.labels,
            },
          }
        : {}),
      warnings: (args.warnings ?? true) ? warningsFor(plan, "image") : [],
    };
  }

  constructor(name: string, args: VllmImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}VllmImage`, name, {}, opts);
    logWarnings(args.warnings, this);
    const inherited = inheritedDependsOn(`VllmImage ${name}`, opts);
    const child = (deps: pulumi.Input<pulumi.Resource>[]): pulumi.CustomResourceOptions => ({
      parent: this,
      dependsOn: [...inherited, ...deps],
    });
    const tag = args.tag;

    // Per node: the presence step first.
    const onNode = args.nodes.map((n) => ({
      ...n,
      presenceCommand: stepCommand(
        `${name}-${n.node.nodeName}-${n.presence.id}`,
        n.node.connection,
        n.presence,
        child([...(n.node.ready ?? [])]),
      ),
    }));

    let trigger: pulumi.Input<string> = tag;
    let readyOn: Record<string, pulumi.Resource> = {};
    this.labels = pulumi.output<Record<string, string>>({});
    if (args.build) {
      const built = buildAndCopy(name, args.build, tag, onNode, child, this);
      this.build = built.build;
      trigger = built.trigger;
      readyOn = built.readyOn;
      this.labels = pulumi.output({ ...(args.build.labels ?? {}) });
    }
    const idCommands = imageIdSteps(name, onNode, readyOn, trigger, child);
    this.readyOn = idCommands;
    const ids = Object.fromEntries(Object.entries(idCommands).map(([n, c]) => [n, c.stdout]));
    this.nodeImageIds = pulumi.output(ids) as pulumi.Output<Record<string, string>>;
    this.imageId = this.nodeImageIds.apply((m) => checkSameImageId(tag, m));
    // Gated on the check: a container using imageRef is not created when the IDs differ.
    this.imageRef = this.imageId.apply(() => tag);
    this.registerOutputs({
      imageRef: this.imageRef,
      imageId: this.imageId,
      nodeImageIds: this.nodeImageIds,
      labels: this.labels,
    });
  }
}

type OnNode = VllmImageArgs["nodes"][number] & { readonly presenceCommand: remote.Command };

/** The build on its node (after its presence step), then a copy to every node that has a transfer. */
function buildAndCopy(
  name: string,
  b: NonNullable<VllmImageArgs["build"]>,
  tag: string,
  onNode: readonly OnNode[],
  child: (deps: pulumi.Input<pulumi.Resource>[]) => pulumi.CustomResourceOptions,
  parent: pulumi.Resource,
): { build: docker.Image; trigger: pulumi.Output<string>; readyOn: Record<string, pulumi.Resource> } {
  const readyOn: Record<string, pulumi.Resource> = {};
  const builder = b.node;
  const builderPresence = onNode.find((n) => n.node.nodeName === builder.nodeName)?.presenceCommand;
  if (!builderPresence) throw new Error(`VllmImage ${name}: the build node ${builder.nodeName} is not one of nodes`);
  const build = new docker.Image(
    `${name}-build`,
    {
      imageName: tag,
      skipPush: true,
      build: {
        context: b.context,
        dockerfile: b.dockerfile,
        platform: b.platform ?? "linux/arm64",
        args: { ...(b.args ?? {}) },
      },
    },
    {
      ...child([builderPresence]),
      provider: dockerProviderFor(`${name}-${builder.nodeName}-docker`, builder, parent),
    },
  );
  const trigger = pulumi.all([build.id, build.repoDigest]).apply(([id, d]) => `${id}|${d ?? ""}`);
  readyOn[builder.nodeName] = build;
  for (const n of onNode) {
    if (!n.transfer) continue;
    const target = n.node.nodeName;
    readyOn[target] = new remote.Command(
      `${name}-${target}-transfer`,
      {
        connection: builder.connection,
        create: n.transfer.create,
        ...(n.transfer.delete !== undefined ? { delete: n.transfer.delete } : {}),
        triggers: [trigger],
      },
      child([build, n.presenceCommand]),
    );
  }
  return { build, trigger, readyOn };
}

/** Per node, the image's ID read once the image is there (again whenever the build changes). */
function imageIdSteps(
  name: string,
  onNode: readonly OnNode[],
  readyOn: Record<string, pulumi.Resource>,
  trigger: pulumi.Input<string>,
  child: (deps: pulumi.Input<pulumi.Resource>[]) => pulumi.CustomResourceOptions,
): Record<string, remote.Command> {
  const idCommands: Record<string, remote.Command> = {};
  for (const n of onNode) {
    const nodeName = n.node.nodeName;
    idCommands[nodeName] = new remote.Command(
      `${name}-${nodeName}-image-id`,
      { connection: n.node.connection, create: n.idScript, triggers: [trigger] },
      child([readyOn[nodeName] ?? n.presenceCommand]),
    );
  }
  return idCommands;
}
