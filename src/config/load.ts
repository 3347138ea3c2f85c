/**
 * Loading the cluster config from a plain object or a Pulumi stack file, with all problems at
 * once. Pure apart from `readStackFile`, which reads one YAML file.
 */
import { readFileSync } from "node:fs";
import { ConfigError, formatPath, problemsFromZod, type ConfigProblem } from "./errors";
import { clusterSchema, crossFieldProblems, type ClusterConfig, type WellFormedParts, wellFormedParts } from "./schema";
import { describeSecret } from "./secret";
import { parseConfigText } from "./source";
import { didYouMean } from "./suggest";
import { MODEL_VARIANTS } from "../models";

/** Hugging Face ids of the variants whose repositories are gated (need a token to download). */
const GATED_MODEL_IDS: readonly string[] = Object.values(MODEL_VARIANTS)
  .filter((m) => m.gated)
  .map((m) => m.id);

/** The Pulumi project name, which is also the stack-config namespace (`dgx-spark-vllm:nodes`). */
export const CONFIG_NAMESPACE = "dgx-spark-vllm";

/** Top-level config keys holding the cluster model (`dgx-spark-vllm:<key>`). */
export const CONFIG_SECTIONS = [
  "nodes",
  "ssh",
  "link",
  "image",
  "model",
  "serving",
  "hardening",
  "observability",
] as const;

/**
 * Secrets are kept as top-level stack keys, so that `pulumi config set --secret <key>` is all a
 * user types; each lands at its place in the model.
 */
export const SECRET_KEYS = {
  hfToken: ["model", "hfToken"],
  apiKey: ["serving", "apiKey"],
  sshPrivateKey: ["ssh", "privateKey"],
  grafanaAdminPassword: ["observability", "grafana", "adminPassword"],
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

/**
 * `plan`: secrets may be missing (shown as "not set"); `deploy`: the ones `pulumi up` needs must
 * be there (API key unless allowUnauthenticated, an SSH key or agent per node, HF token for a
 * gated model that is prefetched).
 */
export type LoadMode = "plan" | "deploy";

export interface LoadedConfig {
  readonly config: ClusterConfig;
  /** Things worth a second look that do not stop a deployment. */
  readonly warnings: readonly ConfigProblem[];
}

/** Validate a cluster config object (as in code, or assembled from stack config). Throws ConfigError. */
export function loadClusterConfig(input: unknown, mode: LoadMode = "deploy"): LoadedConfig {
  const parsed = clusterSchema.safeParse(input);
  if (!parsed.success) {
    // Every problem at once: the shape's, and the cross-field rules' on the parts that are well-formed.
    const problems = problemsFromZod(parsed.error, clusterSchema);
    const seen = new Set(problems.map((p) => `${p.path}\n${p.message}`));
    const more = crossFieldProblems(input).map((x) => ({ path: formatPath(x.path), message: x.message }));
    const parts = mode === "deploy" ? wellFormedParts(input) : undefined;
    if (parts) more.push(...missingSecrets(parts));
    for (const p of more) {
      if (!seen.has(`${p.path}\n${p.message}`)) problems.push(p);
      seen.add(`${p.path}\n${p.message}`);
    }
    throw new ConfigError(problems);
  }
  const config = parsed.data;
  const missing = missingSecrets(config);
  if (mode === "deploy" && missing.length > 0) throw new ConfigError(missing);
  const warnings = [...configWarnings(config), ...(mode === "plan" ? missing : [])];
  return { config, warnings };
}

/**
 * Secrets that `pulumi up` needs and that are not set. On a config whose shape fails elsewhere,
 * each check runs when the sections it reads are well-formed.
 */
export function missingSecrets(c: ClusterConfig | WellFormedParts): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (c.serving && !c.serving.apiKey && !c.serving.allowUnauthenticated) {
    out.push({
      path: "serving.apiKey",
      message:
        "is not set: the server would answer anyone on the network; run `pulumi config set --secret apiKey <key>` or set serving.allowUnauthenticated: true",
    });
  }
  const ssh = c.ssh;
  c.nodes?.forEach((n, i) => {
    if (n && ssh && !(n.ssh.privateKey ?? ssh.privateKey) && !(n.ssh.useAgent ?? ssh.useAgent)) {
      out.push({
        path: `nodes[${i}].ssh.privateKey`,
        message:
          "is not set (nor ssh.privateKey, nor useAgent): run `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519` or set ssh.useAgent: true",
      });
    }
  });
  if (c.model?.prefetch && c.model.delivery !== "local" && GATED_MODEL_IDS.includes(c.model.id) && !c.model.hfToken) {
    out.push({
      path: "model.hfToken",
      message:
        "is not set: the model is gated on Hugging Face" +
        "; run `pulumi config set --secret hfToken <token>`" +
        " or set model.prefetch: false if the weights are already cached",
    });
  }
  if (c.observability?.enabled && !c.observability.grafana.adminPassword) {
    out.push({
      path: "observability.grafana.adminPassword",
      message:
        "is not set: Grafana would start with its default admin password" +
        "; run `pulumi config set --secret grafanaAdminPassword <password>` or set observability.enabled: false",
    });
  }
  return out;
}

/** Settings that are allowed but risky. */
export function configWarnings(c: ClusterConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (c.model.revision !== undefined && !/^[0-9a-f]{40}$/.test(c.model.revision)) {
    out.push({
      path: "model.revision",
      message:
        `is ${c.model.revision}, not a commit hash: what it names can change on the hub` +
        ` between two runs; pin the 40-hex commit (the hub's model page, "Files and versions")`,
    });
  }
  const u = c.serving.gpuMemoryUtilization;
  if (u > 0.82) {
    out.push({
      path: "serving.gpuMemoryUtilization",
      message:
        `is ${u}: above 0.82 the per-node headroom is ~1-5 GB` +
        ` (0.80 is the stable production point); run it only on a dedicated node with the desktop stopped`,
    });
  }
  if (c.link.mtu < 9000) {
    out.push({
      path: "link.mtu",
      message: `is ${c.link.mtu}: the data plane is meant to run at MTU 9000 (jumbo frames) on both ends`,
    });
  }
  if (typeof c.link.gidPolicy === "object") {
    out.push({
      path: "link.gidPolicy",
      message:
        `pins NCCL_IB_GID_INDEX=${c.link.gidPolicy.index}: a pinned index was seen to drift after a reboot` +
        ` (ibv_modify_qp error 61, silent hang); prefer 'auto' or 'resolve'`,
    });
  }
  if (c.image.source === "build" && c.image.allowUnpinned) {
    out.push({
      path: "image.allowUnpinned",
      message: `is true: vllmRef '${c.image.vllmRef}' may move between builds, and newer upstream commits regressed`,
    });
  }
  if (c.serving.router.enabled && c.serving.replicas === 1) {
    out.push({
      path: "serving.router.enabled",
      message:
        "is true with serving.replicas 1: the router has one replica to send every request to" +
        " (a hop and no spreading); raise serving.replicas or turn the router off",
    });
  }
  if (
    c.serving.router.enabled &&
    c.serving.router.policy === "cache_aware" &&
    !c.serving.extraArgs.includes("--enable-scale-out")
  ) {
    out.push({
      path: "serving.router.policy",
      message:
        "is cache_aware, which routes on token ids from each replica's /v1/chat/completions/render;" +
        " vLLM serves that only with --enable-scale-out" +
        " (vLLM 0.32 has it; check your image's `vllm serve --help`)" +
        ": add it to serving.extraArgs, or the router sends nearly every request to one replica" +
        " (measured with vllm-router 0.1.17, docs/router.md)",
    });
  }
  if (c.observability.enabled) {
    for (const k of ["prometheus", "alertmanager", "grafana", "nodeExporter"] as const) {
      const image = c.observability[k].image;
      if (!image.includes("@sha256:")) {
        out.push({
          path: `observability.${k}.image`,
          message:
            `'${image}' is pinned by tag only: a tag can be moved to another image;` +
            ` append the digest (@sha256:...) that \`docker buildx imagetools inspect ${image}\`` +
            ` or the registry shows for linux/arm64`,
        });
      }
    }
  }
  if (c.serving.allowUnauthenticated) {
    out.push({
      path: "serving.allowUnauthenticated",
      message: `is true: anyone who can reach port ${c.serving.port} on the head can use the model`,
    });
  }
  return out;
}

/**
 * Facts about the config worth a line in the plan that are not warnings: the defaults follow the
 * recipe, and where the recipe pins nothing there is nothing better to default to.
 */
export function configNotes(c: ClusterConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (c.image.source === "build" && c.image.flashinferRef === "main") {
    out.push({
      path: "image.flashinferRef",
      message:
        "is 'main': the recipe builds FlashInfer from source and names no commit, so a rebuild may differ; pin the commit you validate",
    });
  }
  return out;
}

/**
 * Assemble the cluster model from a stack's `config:` map (`dgx-spark-vllm:<key>` entries).
 * Encrypted `secure:` values stay encrypted: they become Secrets whose value is unknown.
 */
export function clusterInputFromStackConfig(stackConfig: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const known = [...CONFIG_SECTIONS, ...Object.keys(SECRET_KEYS)];
  for (const [fullKey, value] of Object.entries(stackConfig)) {
    if (!fullKey.includes(":")) {
      // Pulumi itself refuses a key without a namespace ("configuration keys should be of the form
      // <namespace>:<name>"); ignoring it would drop a whole section without a word.
      problems.push({
        path: fullKey,
        message: known.includes(fullKey)
          ? `has no namespace, and Pulumi reads only <namespace>:<name> keys: write ${CONFIG_NAMESPACE}:${fullKey}`
          : `has no namespace, and Pulumi reads only <namespace>:<name> keys (e.g. ${CONFIG_NAMESPACE}:serving)`,
      });
      continue;
    }
    const [ns, key, ...rest] = fullKey.split(":");
    if (ns !== CONFIG_NAMESPACE) continue; // other providers' settings
    if (key === undefined || key === "" || rest.length > 0) {
      problems.push({ path: fullKey, message: "is not a valid config key" });
    } else if ((CONFIG_SECTIONS as readonly string[]).includes(key)) {
      out[key] = mergeSection(out[key], value);
    } else if (key in SECRET_KEYS) {
      placeSecret(out, SECRET_KEYS[key as SecretKey], value);
    } else {
      const hint = didYouMean(key, known, `${CONFIG_NAMESPACE}:`);
      problems.push({
        path: fullKey,
        message: `is not a known setting${hint}: use one of ${known.map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")}`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** Put a secret at its place in the model (`["observability", "grafana", "adminPassword"]`), keeping what is around it. */
export function placeSecret(input: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = input;
  path.forEach((k, i) => {
    if (i === path.length - 1) {
      at[k] = value;
      return;
    }
    const next = at[k];
    const obj = next && typeof next === "object" && !Array.isArray(next) ? { ...(next as object) } : {};
    at[k] = obj;
    at = obj as Record<string, unknown>;
  });
}

function mergeSection(existing: unknown, value: unknown): unknown {
  if (
    existing &&
    typeof existing === "object" &&
    !Array.isArray(existing) &&
    value &&
    typeof value === "object" &&
    !Array.isArray(value)
  ) {
    const out: Record<string, unknown> = { ...(existing as Record<string, unknown>) };
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      out[k] = k in out ? mergeSection(out[k], v) : v;
    return out;
  }
  return value;
}

/** Read `stacks/Pulumi.<stack>.yaml` (or any stack file) into the cluster input object. */
export function readStackFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError([{ path, message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})` }]);
  }
  const doc = parseConfigText(text, path, "yaml");
  if (!isStackDocument(doc)) throw new ConfigError([{ path, message: "has no `config:` map" }]);
  return clusterInputFromStackDocument(doc, path);
}

/** A parsed document is a Pulumi stack file when it is a map with a `config` key. */
export function isStackDocument(doc: unknown): doc is { config: unknown } {
  return !!doc && typeof doc === "object" && !Array.isArray(doc) && "config" in doc;
}

/** The cluster input from a parsed stack file; an empty or non-map `config:` is a ConfigError, not a crash. */
export function clusterInputFromStackDocument(doc: { config: unknown }, file: string): Record<string, unknown> {
  const cfg = doc.config;
  if (cfg === null || cfg === undefined || (typeof cfg === "object" && Object.keys(cfg).length === 0))
    throw new ConfigError([
      {
        path: `${file}: config`,
        message: `is empty: a stack file needs at least ${CONFIG_NAMESPACE}:nodes (see stacks/Pulumi.1m.yaml)`,
      },
    ]);
  if (typeof cfg !== "object" || Array.isArray(cfg))
    throw new ConfigError([
      {
        path: `${file}: config`,
        message: `must be a map of ${CONFIG_NAMESPACE}:<key> settings, not a list or a value`,
      },
    ]);
  return clusterInputFromStackConfig(cfg as Record<string, unknown>);
}

/** How each secret is shown in plan output. */
export function secretSummary(c: ClusterConfig): Record<string, string> {
  const out: Record<string, string> = {
    "model.hfToken": describeSecret(c.model.hfToken),
    "serving.apiKey": c.serving.allowUnauthenticated
      ? "not used (allowUnauthenticated)"
      : describeSecret(c.serving.apiKey),
    "ssh.privateKey": c.ssh.useAgent ? "not used (ssh agent)" : describeSecret(c.ssh.privateKey),
  };
  c.nodes.forEach((n, i) => {
    if (n.ssh.privateKey) out[`nodes[${i}].ssh.privateKey`] = describeSecret(n.ssh.privateKey);
  });
  if (c.observability.enabled)
    out["observability.grafana.adminPassword"] = describeSecret(c.observability.grafana.adminPassword);
  return out;
}
