/**
 * VllmRouter: vLLM's own router (vllm-router from PyPI) on one node, in front of the replicas'
 * endpoints (serving.router.enabled; src/plan/router.ts plans it). Renders the plan's steps
 * verbatim: the venv and launcher, the root-only secrets file (the API key on stdin, a Pulumi
 * secret), and the systemd unit, which is (re)started after the replicas are up. Its `endpoint`
 * is the deployment's.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { type RouterServicePlan, routerSecretsStdin } from "../plan/router";
import { inheritedDependsOn, type SparkNodeAccess, stepCommand, TOKEN_PREFIX } from "./common";

export interface VllmRouterArgs {
  /** The router's plan (`planDeployment(config).router.service`). */
  service: RouterServicePlan;
  /** The node that runs it (`service.node`). */
  node: SparkNodeAccess;
  /** The cluster's API key (the engine's; a Pulumi secret). Required when `service.authenticated`. */
  apiKey?: pulumi.Input<string>;
  /** The replicas' endpoints, once ready: the unit starts after them. */
  workers: pulumi.Input<string>[];
}

export class VllmRouter extends pulumi.ComponentResource {
  /** The router's OpenAI-compatible base URL, once its unit runs: the deployment's endpoint. */
  public readonly endpoint: pulumi.Output<string>;
  /** Its Prometheus metrics (vllm_router_*). */
  public readonly metricsUrl: pulumi.Output<string>;

  constructor(name: string, args: VllmRouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN_PREFIX}VllmRouter`, name, {}, opts);
    const s = args.service;
    if (args.node.nodeName !== s.node)
      throw new Error(`VllmRouter ${name}: the plan runs the router on ${s.node}, but node is ${args.node.nodeName}`);
    if (s.authenticated && args.apiKey === undefined)
      throw new Error(
        `VllmRouter ${name}: the replicas need an API key and so does the router: set serving.apiKey (pulumi config set --secret apiKey ...)`,
      );
    const before = [...inheritedDependsOn(`VllmRouter ${name}`, opts), ...(args.node.ready ?? [])];
    const child = (dependsOn: pulumi.Input<pulumi.Resource>[]) => ({ parent: this, dependsOn });
    const step = (id: string) => {
      const st = s.steps.find((x) => x.id === id);
      if (!st) throw new Error(`VllmRouter ${name}: the plan has no step ${id}`);
      return st;
    };
    const venv = stepCommand(`${name}-venv`, args.node.connection, step("router-venv"), child(before), {
      triggers: [s.version, hash(step("router-venv").create)],
    });
    const done: pulumi.Resource[] = [venv];
    if (s.secretsFile) {
      const key = pulumi.secret(pulumi.output(args.apiKey as pulumi.Input<string>));
      const secrets = stepCommand(`${name}-secrets`, args.node.connection, step("router-secrets"), child(before), {
        stdin: key.apply(routerSecretsStdin),
        // A changed key rewrites the file (the hash only, never the value, is in the state).
        triggers: [key.apply((k) => hash(k))],
      });
      done.push(secrets);
    }
    // Started once the replicas answer; replaced (restarted) when the unit or the workers change.
    const unit = stepCommand(`${name}-unit`, args.node.connection, step("router-unit"), child(done), {
      triggers: [hash(s.unit.text), pulumi.all(args.workers)],
    });
    this.endpoint = pulumi.all([unit.stdout, pulumi.all(args.workers)]).apply(() => s.endpoint);
    this.metricsUrl = unit.stdout.apply(() => s.metricsUrl);
    this.registerOutputs({ endpoint: this.endpoint, metricsUrl: this.metricsUrl });
  }
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
