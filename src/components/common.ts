/** Small helpers shared by the components. No plan logic lives here. */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { remote, type types } from "@pulumi/command";
import { apiKeyProblem } from "../config/api-key";
import type { ConfigProblem } from "../config/errors";
import type { Secret } from "../config/secret";
import type { ClusterPlan, HostStep } from "../plan/types";

/** The type-token prefix of every component (`dgx-spark-vllm:index:<Component>`). */
export const TOKEN_PREFIX = "dgx-spark-vllm:index:";

/** A Secret (or a plain/Output value) as a Pulumi secret Output; undefined when absent or unknown. */
export function secretInput(s: Secret | pulumi.Input<string> | undefined): pulumi.Output<string> | undefined {
  if (s === undefined) return undefined;
  if (typeof s === "object" && s !== null && "reveal" in s && typeof (s as Secret).reveal === "function") {
    const v = (s as Secret).reveal();
    if (v === undefined)
      throw new Error(
        "a secret is only known encrypted (stack file read without the passphrase): run through `pulumi up`, or pass the value in code",
      );
    return pulumi.secret(v as pulumi.Input<string>);
  }
  return pulumi.secret(s as pulumi.Input<string>);
}

/**
 * `serving.apiKey` as a secret Output. A key given as a value was checked with the config; one given
 * as an Output (e.g. `config.requireSecret`) is checked when it resolves, and the steps that would
 * write it fail before they run. The value is never in the message.
 */
export function apiKeyInput(s: Secret | pulumi.Input<string> | undefined): pulumi.Output<string> | undefined {
  return secretInput(s)?.apply((key) => {
    const problem = apiKeyProblem(key);
    if (problem) throw new Error(`Invalid dgx-spark-vllm config: serving.apiKey ${problem}`);
    return key;
  });
}

/**
 * A remote.Command for a plan step. create/delete come verbatim from the plan; `stdin` (if any)
 * carries secrets and is passed as a Pulumi secret; logging is off when stdin is set.
 */
export function stepCommand(
  name: string,
  connection: pulumi.Input<types.input.remote.ConnectionArgs>,
  step: Pick<HostStep, "create"> & { readonly delete?: string },
  opts: pulumi.CustomResourceOptions,
  extra: {
    stdin?: pulumi.Input<string>;
    triggers?: pulumi.Input<unknown[]>;
    /** What the engine logs of a step that reads a secret on stdin (the script never prints it). @default "none" */
    logging?: "stderr" | "none";
  } = {},
): remote.Command {
  return new remote.Command(
    name,
    {
      connection,
      create: step.create,
      ...(step.delete !== undefined ? { delete: step.delete } : {}),
      ...(extra.stdin !== undefined
        ? { stdin: pulumi.secret(extra.stdin), logging: extra.logging ?? ("none" as const) }
        : {}),
      ...(extra.triggers !== undefined ? { triggers: extra.triggers } : {}),
    },
    opts,
  );
}

/** `64g` / `512m` / `1024k` / bytes -> MiB, for docker.Container's shmSize and memory. */
export function sizeToMiB(size: string): number {
  const m = /^(\d+)([bkmg]?)$/i.exec(size.trim());
  if (!m) throw new Error(`cannot read size '${size}' (expected e.g. 64g)`);
  const n = Number(m[1]);
  switch ((m[2] ?? "").toLowerCase()) {
    case "g":
      return n * 1024;
    case "m":
      return n;
    case "k":
      return Math.ceil(n / 1024);
    default:
      return Math.ceil(n / (1024 * 1024));
  }
}

/**
 * What the components that work on a node need of it: a SparkNode has all of it, and so can a
 * plain object (for a node hardened in another stack, or reached some other way).
 */
export interface SparkNodeAccess {
  /** The node's name: keys it in the other components' args and names its resources. */
  readonly nodeName: string;
  /** The SSH connection every remote.Command on the node uses. */
  readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
  /** The docker host URL (`ssh://user@host:port`) for a docker provider on the node. */
  readonly dockerHost: pulumi.Input<string>;
  /** ssh client options of that docker provider. @default [] */
  readonly dockerSshOpts?: readonly string[];
  /** Resources after which the node is ready (reachable, checked, hardened). @default [] */
  readonly ready?: readonly pulumi.Resource[];
}

/** Look nodes up by name, failing once, naming every node of the plan that has none. */
export function nodesByName(
  who: string,
  planNodes: readonly string[],
  nodes: readonly SparkNodeAccess[],
): (name: string) => SparkNodeAccess {
  const byName = new Map(nodes.map((n) => [n.nodeName, n]));
  const missing = planNodes.filter((n) => !byName.has(n));
  if (missing.length > 0)
    throw new Error(
      `${who}: node ${missing.join(", ")} of the plan has no SparkNode in nodes (got: ${[...byName.keys()].join(", ") || "none"})`,
    );
  return (name) => {
    const n = byName.get(name);
    if (!n) throw new Error(`${who}: the plan names node ${name}, which is not among its nodes`);
    return n;
  };
}

/**
 * A docker provider for one node over ssh://, parented to the component that creates containers
 * or images there. Only those components load the docker plugin; a hardened-only node does not.
 */
export function dockerProviderFor(name: string, node: SparkNodeAccess, parent: pulumi.Resource): docker.Provider {
  return new docker.Provider(
    name,
    { host: node.dockerHost, sshOpts: [...(node.dockerSshOpts ?? [])] },
    { parent, dependsOn: [...(node.ready ?? [])] },
  );
}

/**
 * The `dependsOn` given in a component's own options, as a list every child adds to its own:
 * Pulumi passes a parent's providers and transformations down, but not its dependsOn.
 */
export function inheritedDependsOn(
  component: string,
  opts: pulumi.ResourceOptions | undefined,
): pulumi.Input<pulumi.Resource>[] {
  const d = opts?.dependsOn;
  if (d === undefined) return [];
  if (Array.isArray(d)) return [...d];
  if (pulumi.Resource.isInstance(d)) return [d];
  throw new Error(
    `${component}: opts.dependsOn must be a resource or a list of resources (an Output or Promise of a list cannot be passed on to the children)`,
  );
}

/** Show config warnings as Pulumi warnings on a component (`<path> <message>`). */
export function logWarnings(warnings: readonly ConfigProblem[] | undefined, resource: pulumi.Resource): void {
  for (const w of warnings ?? []) pulumi.log.warn(`${w.path} ${w.message}`, resource);
}

/**
 * Which component a plan warning concerns, by its config path: `nodes[i]...` the SparkNode of
 * node i, `link...` the RoceLink, `image...` the VllmImage, `serving...` and `model...` the
 * VllmService. Anything else (`hardening...`, `ssh...`, `observability...`, ...) concerns no one
 * of them but the whole cluster: `"plan"`, shown by the first component built from the plan.
 */
export type WarningOwner = { node: number } | "link" | "image" | "service" | "plan";
export function warningOwner(path: string): WarningOwner {
  const m = /^nodes\[(\d+)\]/.exec(path);
  if (m) return { node: Number(m[1]) };
  if (/^link(\.|$)/.test(path)) return "link";
  if (/^image(\.|$)/.test(path)) return "image";
  if (/^(serving|model)(\.|$)/.test(path)) return "service";
  return "plan";
}
/** The plan-wide warnings already handed to a component, per plan (so each is shown once). */
const planWideShown = new WeakMap<ClusterPlan, Set<ConfigProblem>>();
/**
 * The plan's warnings a component's `fromPlan` hands it: those it concerns, and the plan-wide ones
 * (owner "plan") no component built from this plan object has been handed yet. So every warning
 * is shown once, whether a DeepSeekV4Cluster or a program composing the components by hand
 * builds them: the first component built from the plan shows the plan-wide ones.
 */
export function warningsFor(plan: ClusterPlan, owner: Exclude<WarningOwner, "plan">): ConfigProblem[] {
  const key = (o: WarningOwner) => (typeof o === "string" ? o : `node:${o.node}`);
  let shown = planWideShown.get(plan);
  if (!shown) planWideShown.set(plan, (shown = new Set()));
  const seen = shown;
  const out = plan.warnings.filter((w) => {
    const o = warningOwner(w.path);
    return o === "plan" ? !seen.has(w) : key(o) === key(owner);
  });
  for (const w of out) if (warningOwner(w.path) === "plan") seen.add(w);
  return out;
}
