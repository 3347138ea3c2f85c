import { sh } from "../shell/sh";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { ConfigError } from "../config/errors";
import { clusterInputFromStackDocument, isStackDocument, loadClusterConfig, readStackFile } from "../config/load";
import { parseConfigText } from "../config/source";
import { didYouMean } from "../config/suggest";
import { Secret } from "../config/secret";
import { planCluster } from "../plan/cluster";
import type { ClusterPlan } from "../plan/types";
import { apiKeyFromEnv } from "./options";

/** The package root (where stacks/ ships), from dist/src/cli/. */
export const PACKAGE_ROOT = resolve(__dirname, "..", "..", "..");

/** `--stack NAME` -> stacks/Pulumi.NAME.yaml in the working directory, else the package's own. */
export function stackFilePath(stack: string, cwd = process.cwd()): string {
  if (!/^[A-Za-z0-9._-]+$/.test(stack))
    throw new ConfigError([{ path: "--stack", message: `'${stack}' is not a stack name` }]);
  const candidates = [
    join(cwd, "stacks", `Pulumi.${stack}.yaml`),
    join(PACKAGE_ROOT, "stacks", `Pulumi.${stack}.yaml`),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    const names = availableStacks(cwd);
    const list = names.length > 0 ? `available: ${names.join(", ")}` : "no stacks/Pulumi.*.yaml found";
    throw new ConfigError([
      { path: "--stack", message: `no stack file for '${stack}'${didYouMean(stack, names)}; ${list}` },
    ]);
  }
  return found;
}

/** The stack names under stacks/ in the working directory and in the package, each once, sorted. */
export function availableStacks(cwd = process.cwd()): string[] {
  const names = new Set<string>();
  for (const dir of [join(cwd, "stacks"), join(PACKAGE_ROOT, "stacks")]) {
    let files: string[] = [];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of files) {
      const m = /^Pulumi\.([A-Za-z0-9._-]+)\.yaml$/.exec(f);
      if (m?.[1]) names.add(m[1]);
    }
  }
  return [...names].sort();
}

/** The package's version, from the package.json next to the compiled files. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Read the cluster input from `--stack` or `--config`. A `--config` file is either a Pulumi stack
 * file (has `config:`) or the cluster object itself, in YAML or JSON.
 */
export function readClusterInput(opts: { stack?: string; config?: string }): {
  input: Record<string, unknown>;
  source: string;
} {
  if (opts.stack && opts.config)
    throw new ConfigError([{ path: "--config", message: "and --stack were both given: choose one" }]);
  if (opts.config) {
    const file = resolve(opts.config);
    if (!existsSync(file)) throw new ConfigError([{ path: "--config", message: `${file} does not exist` }]);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError([
        { path: "--config", message: `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})` },
      ]);
    }
    const doc = parseConfigText(text, file, extname(file) === ".json" ? "json" : "yaml");
    if (isStackDocument(doc)) return { input: clusterInputFromStackDocument(doc, file), source: file };
    if (!doc || typeof doc !== "object" || Array.isArray(doc))
      throw new ConfigError([
        { path: "--config", message: `${file} must hold a cluster object or a Pulumi stack file` },
      ]);
    return { input: doc as Record<string, unknown>, source: file };
  }
  const file = stackFilePath(opts.stack ?? "1m");
  return { input: readStackFile(file), source: file };
}

/** A plan read from `--stack`/`--config`, with the private key text of each node the config holds readable. */
export interface ClusterRead {
  readonly plan: ClusterPlan;
  readonly source: string;
  /**
   * Per node name: the key its components would use, when the config holds it as plain text (a
   * stack file's encrypted secret is not readable: then `--identity` or the ssh agent).
   */
  readonly privateKeys: Readonly<Record<string, string>>;
}

export function readClusterPlan(opts: { stack?: string; config?: string; instance?: string }): ClusterRead {
  const { input, source } = readClusterInput(opts);
  const { config, warnings } = loadClusterConfig(input, "plan");
  // --instance: a cluster deployed with an instance name (a DeepSeekV4Cluster in one's own program) names its containers and units with it.
  const plan = planCluster(config, warnings, opts.instance !== undefined ? { instance: opts.instance } : {});
  const privateKeys: Record<string, string> = {};
  for (const n of config.nodes) {
    const k = n.ssh.privateKey ?? config.ssh.privateKey;
    const v = k instanceof Secret ? k.reveal() : undefined;
    if (typeof v === "string" && v.length > 0) privateKeys[n.name] = v;
  }
  return { plan, source, privateKeys };
}

/** How doctor and repair reach a stack's nodes: the plan, the SSH key source, the API key. */
export interface StackAccess extends Omit<ClusterRead, "privateKeys"> {
  /** `--identity` when given (checked readable), else the keys the config holds as plain text. */
  readonly ssh: { readonly identityFile: string } | { readonly privateKeys: Readonly<Record<string, string>> };
  /** For the head's /v1/models check: `$VLLM_API_KEY`, or the variable `--api-key-env` names. */
  readonly apiKey?: string;
  /** The repair invocation for the same stack or file and key, for doctor's fixes (paste as is). */
  readonly repairCommand: string;
}

/** Read `--stack`/`--config`, `--instance`, `--identity` and the API key variable; ConfigError or UsageError on bad input. */
export function readStackAccess(
  opts: { stack?: string; config?: string; identity?: string; instance?: string },
  env: NodeJS.ProcessEnv,
  apiKeyEnv?: string,
): StackAccess {
  const { plan, source, privateKeys } = readClusterPlan(opts);
  if (opts.identity) checkIdentityFile(opts.identity);
  const apiKey = apiKeyFromEnv(apiKeyEnv, env).key;
  return {
    plan,
    source,
    ssh: opts.identity ? { identityFile: opts.identity } : { privateKeys },
    ...(apiKey !== undefined ? { apiKey } : {}),
    repairCommand:
      `dgx-spark-vllm repair ${opts.config ? sh`--config ${opts.config}` : sh`--stack ${opts.stack ?? "1m"}`}` +
      `${opts.identity ? sh` --identity ${opts.identity}` : ""}`,
  };
}

/** `--identity FILE` must be readable (ssh reads it; this only checks that it can be read). */
export function checkIdentityFile(file: string): void {
  try {
    readFileSync(file);
  } catch {
    throw new ConfigError([{ path: "--identity", message: `cannot read ${file}` }]);
  }
}
