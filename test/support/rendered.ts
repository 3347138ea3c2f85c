/**
 * Every script the library renders for a stack, by a stable name: the plan's own (host and link
 * steps, the DF-ping checks) and the ones the components compute from the plan (reachability,
 * preflight, image, prefetch, sidecar, readiness, watchdog). The golden tests write them to
 * test/golden/<stack>/scripts/ so that a change to any of them is a reviewable diff, and the
 * shellcheck test lints every one.
 */
import { join, resolve } from "node:path";
import { readStackFile } from "../../src/config";
import { planFromInput } from "../../src/plan/cluster";
import type { ClusterPlan } from "../../src/plan/types";
import { type DeploymentPlan, planDeploymentFromInput } from "../../src/plan/replicas";
import {
  dropCachesSidecar,
  imageIdScript,
  imagePresenceStep,
  imageTransferScript,
  preflightChecks,
  prefetchStep,
  reachableScript,
  readinessScript,
  READINESS_TIMEOUT_S,
} from "../../src/plan/service";
import { probeScript } from "../../src/doctor/probe";
import { withGidResolver } from "../../src/plan/launch";
import { secretsFileSpec, secretsFileStep, withSecretsFile } from "../../src/plan/secrets-file";
import { linkBootScript } from "../../src/plan/link";
import { monitorCheckScript, umaMonitorStep } from "../../src/plan/monitor";
import {
  HOLD_MARGIN_S,
  watchdogHoldStep,
  watchdogScript,
  watchdogStep,
  watchdogUnholdScript,
} from "../../src/plan/watchdog";

export const ROOT = resolve(__dirname, "..", "..", "..");
export const GOLDEN_STACKS = ["1m", "512k", "256k", "0731-dspark"] as const;

export function stackPlan(stack: string): ClusterPlan {
  return planFromInput(readStackFile(join(ROOT, "stacks", `Pulumi.${stack}.yaml`)), "plan");
}

/** File-name-safe form of a name. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, "_");

/**
 * The plan JSON with every script replaced by a reference to its file, and the scripts by file
 * name. `JSON.stringify(plan, null, 2)` of the result is what `plan --json` prints, minus the
 * script texts.
 */
export function splitPlan(plan: ClusterPlan): { skeleton: unknown; scripts: Map<string, string> } {
  const scripts = new Map<string, string>();
  const put = (name: string, text: string): string => {
    const file = `${safe(name)}.sh`;
    if (scripts.has(file)) throw new Error(`two scripts named ${file}`);
    scripts.set(file, text);
    return `@script ${file}`;
  };
  const skeleton = JSON.parse(JSON.stringify(plan)) as any;
  for (const n of skeleton.nodes) {
    for (const kind of ["hostSteps", "linkSteps"] as const) {
      for (const s of n[kind]) {
        s.create = put(`${n.name}.${kind}.${s.id}.create`, s.create);
        s.delete = put(`${n.name}.${kind}.${s.id}.delete`, s.delete);
      }
    }
  }
  for (const c of skeleton.link.checks) c.script = put(`link.check.${c.from}-${c.to}.twin${c.twin}`, c.script);
  return { skeleton, scripts };
}

/** The scripts the components render from the plan (not part of the plan JSON). */
export function componentScripts(plan: ClusterPlan): Map<string, string> {
  const out = new Map<string, string>();
  const put = (name: string, text: string) => {
    const file = `${safe(name)}.sh`;
    if (out.has(file)) throw new Error(`two scripts named ${file}`);
    out.set(file, text);
  };
  const head = plan.nodes.find((n) => n.name === plan.cluster.head)!;
  for (const n of plan.nodes) {
    put(`${n.name}.reachable`, reachableScript(n));
    for (const c of preflightChecks(plan, n)) put(`${n.name}.preflight.${c.id}`, c.script);
    put(`${n.name}.image-id`, imageIdScript(plan, n));
    const presence = imagePresenceStep(plan, n);
    put(`${n.name}.${presence.id}.create`, presence.create);
    put(`${n.name}.${presence.id}.delete`, presence.delete);
    if (n.name !== head.name) put(`${head.name}.image-transfer.to-${n.name}`, imageTransferScript(plan, head, n));
    const prefetch = prefetchStep(plan, n);
    put(`${n.name}.prefetch.create`, prefetch.create);
    put(`${n.name}.prefetch.delete`, prefetch.delete);
    const sidecar = dropCachesSidecar(plan, n);
    put(`${n.name}.drop-caches.start`, sidecar.start);
    put(`${n.name}.drop-caches.stop`, sidecar.stop);
  }
  put(`${head.name}.readiness`, readinessScript(plan, head));
  // The files the host steps install, on their own (they are also inside the steps' create scripts).
  for (const n of plan.nodes) {
    const config = { name: n.name, dataPlane: n.dataPlane } as unknown as Parameters<typeof linkBootScript>[0];
    put(`${n.name}.link-up`, linkBootScript(config, plan.link.mtu, plan.hardening));
    // link.gidPolicy: resolve wraps the container's process in this script (bash -c ... vllm serve ...).
    put(`${n.name}.gid-resolver`, `${withGidResolver(config, ["vllm"])[2]}\n`);
    put(`${n.name}.uma-headroom`, monitorCheckScript(n.name, plan.hardening.umaAlertThresholdGb));
    const monitor = umaMonitorStep(n.name, plan.hardening.umaAlertThresholdGb);
    put(`${n.name}.uma-monitor.create`, monitor.create);
    put(`${n.name}.uma-monitor.delete`, monitor.delete);
    put(`${n.name}.doctor-probe`, probeScript(plan, n, { rdma: true }));
    // The secrets-file step and the container's wrapper as deployed with both secrets set (the
    // shipped stacks set none in their files: `pulumi config set --secret`).
    const secretEnv = n.role === "head" ? ["HF_TOKEN", "VLLM_API_KEY"] : ["HF_TOKEN"];
    const secretsFile = secretsFileSpec(n.container.name);
    const secrets = secretsFileStep({ ...n.container, secretEnv, secretsFile });
    if (secrets) {
      put(`${n.name}.secrets-file.create`, secrets.create);
      put(`${n.name}.secrets-file.delete`, secrets.delete);
    }
    put(`${n.name}.secrets-wrapper`, `${withSecretsFile(secretsFile, ["vllm"])[2]}\n`);
  }
  if (plan.watchdog.enabled) {
    put(`${head.name}.watchdog`, watchdogScript(plan));
    const step = watchdogStep(plan);
    put(`${head.name}.watchdog.create`, step.create);
    put(`${head.name}.watchdog.delete`, step.delete);
    const hold = watchdogHoldStep(plan, READINESS_TIMEOUT_S + HOLD_MARGIN_S);
    put(`${head.name}.watchdog-hold.create`, hold.create);
    put(`${head.name}.watchdog-hold.delete`, hold.delete);
    put(`${head.name}.watchdog-unhold`, watchdogUnholdScript(plan));
  }
  return out;
}

/**
 * A deployment with vLLM's router (serving.router, docs/router.md): stacks/Pulumi.2x2-replicas.yaml
 * (four Sparks, two replicas of TP=2) with the router and observability on, or (`router: false`)
 * the same without the router.
 */
export function routerDeployment(router = true): DeploymentPlan {
  const input = readStackFile(join(ROOT, "stacks", "Pulumi.2x2-replicas.yaml")) as Record<string, any>;
  input.serving = { ...input.serving, extraArgs: ["--enable-scale-out"], router: { enabled: router } };
  input.observability = { enabled: true };
  return planDeploymentFromInput(input, "plan");
}

/**
 * A deployment's JSON with every script (the replicas' as in `splitPlan`, the router's steps) and
 * every observability file replaced by a reference to its file, and those files by name. Node
 * names are unique across replicas, so the replicas' file names do not clash.
 */
export function splitDeployment(d: DeploymentPlan): { skeleton: unknown; scripts: Map<string, string> } {
  const scripts = new Map<string, string>();
  const replicas = d.replicas.map((plan, r) => {
    const { skeleton, scripts: own } = splitPlan(plan);
    for (const [f, text] of own) {
      if (scripts.has(f)) throw new Error(`two scripts named ${f}`);
      scripts.set(f, text);
    }
    const files = (skeleton as any).observability?.files as Record<string, string> | undefined;
    for (const path of Object.keys(files ?? {})) {
      const f = `replica${r}.observability.${safe(path.split("/").slice(-2).join("_"))}`;
      scripts.set(f, (files as Record<string, string>)[path] as string);
      (files as Record<string, string>)[path] = `@file ${f}`;
    }
    return skeleton;
  });
  const router = JSON.parse(JSON.stringify(d.router ?? null)) as any;
  for (const s of router?.service?.steps ?? []) {
    for (const k of ["create", "delete"] as const) {
      const f = `router.${s.id}.${k}.sh`;
      scripts.set(f, s[k]);
      s[k] = `@script ${f}`;
    }
  }
  return { skeleton: { replicas, ...(router ? { router } : {}) }, scripts };
}
