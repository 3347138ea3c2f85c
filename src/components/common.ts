/** Small helpers shared by the components. No plan logic lives here. */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { remote, type types } from "@pulumi/command";
import type { Secret } from "../config/secret";
import type { HostStep } from "../plan/types";

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
 * A remote.Command for a plan step. create/delete come verbatim from the plan; `stdin` (if any)
 * carries secrets and is passed as a Pulumi secret; logging is off when stdin is set.
 */
export function stepCommand(
  name: string,
  connection: pulumi.Input<types.input.remote.ConnectionArgs>,
  step: Pick<HostStep, "create" | "delete">,
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
      delete: step.delete,
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

/** What a docker provider needs of a node (a SparkNode has both). */
export interface DockerAccess {
  dockerHost: pulumi.Input<string>;
  dockerSshOpts: readonly string[];
  /** Resources the provider waits for (the node answers over SSH). */
  reachable: pulumi.Resource;
}

/**
 * A docker provider for one node over ssh://, parented to the component that creates containers
 * or images there. Only those components load the docker plugin; a hardened-only node does not.
 */
export function dockerProviderFor(name: string, node: DockerAccess, parent: pulumi.Resource): docker.Provider {
  return new docker.Provider(
    name,
    { host: node.dockerHost, sshOpts: [...node.dockerSshOpts] },
    { parent, dependsOn: [node.reachable] },
  );
}
