/**
 * The model variant's part of the plan: the effective speculative decoding, backends and KV cache
 * dtype with its bytes per token, what the image is known to have, the variant's sources and
 * assumptions; the memory geometry for the chosen KV dtype; image pinning warnings; and the
 * known-bad host versions preflight and doctor check.
 */
import type { ConfigProblem } from "../config/errors";
import type { ClusterConfig } from "../config/schema";
import { backendSettings, imageKnowledge, kvCacheDtypeOf, speculativeSettings } from "../config/variant";
import { IMAGE_PRESETS, KNOWN_BAD_HOSTS, type ImageCapabilities, type KnownBadHost } from "../models";
import type { BackendChoice, ModelMemoryGeometry, ModelSpec } from "../models/deepseek-v4-flash";
import type { ResolvedProfile } from "./profile";

export interface VariantPlan {
  readonly name: string;
  readonly speculative: {
    readonly method: "mtp" | "dspark" | "off";
    readonly tokens?: number;
    /** The JSON `--speculative-config` receives (absent when off). */
    readonly config?: Readonly<Record<string, unknown>>;
    /** What decided it: serving.speculative, serving.mtp, or the variant's default (and its source). */
    readonly from: string;
  };
  readonly backends: BackendChoice;
  readonly kvCacheDtype: string;
  /** The memory model's KV bytes per token (whole model, one copy) for that dtype, and its source. */
  readonly kvBytesPerToken: number;
  readonly kvSource: string;
  /** What the image is known to have, and from where. */
  readonly image: { readonly capabilities?: ImageCapabilities; readonly from: string };
  readonly sources: readonly string[];
  readonly assumptions: readonly string[];
}

export function variantPlan(
  config: ClusterConfig,
  model: ModelSpec,
  profile: ResolvedProfile,
): { plan: VariantPlan; geometry: ModelMemoryGeometry; notes: ConfigProblem[] } {
  const s = config.serving;
  const sp = speculativeSettings({ ...s, profile: { numSpeculativeTokens: profile.numSpeculativeTokens } }, model);
  const kv = kvCacheDtypeOf({ ...s, profile: { kvCacheDtype: profile.kvCacheDtype } });
  const kvSpec = model.kvCacheDtypes[kv];
  // The config rules refuse a dtype without geometry; a caller that skips them gets a clear throw.
  if (!kvSpec) throw new Error(`${model.variant} has no KV geometry for --kv-cache-dtype ${kv}`);
  const know = imageKnowledge(config.image);
  const notes: ConfigProblem[] = [];
  if (model.assumptions.length > 0) {
    notes.push({
      path: "model.variant",
      message: `${model.variant}: the memory planner assumes ${model.assumptions.join("; ")} (src/models/${model.variant}.ts)`,
    });
  }
  return {
    plan: {
      name: model.variant,
      speculative: {
        method: sp.method,
        ...(sp.tokens !== undefined ? { tokens: sp.tokens } : {}),
        ...(sp.json ? { config: sp.json } : {}),
        from: sp.from.startsWith("the ") ? `${sp.from}: ${model.speculativeDefault.source}` : sp.from,
      },
      backends: backendSettings(s, model),
      kvCacheDtype: kv,
      kvBytesPerToken: kvSpec.bytesPerToken,
      kvSource: kvSpec.source,
      image: { ...(know.capabilities ? { capabilities: know.capabilities } : {}), from: know.from },
      sources: model.sources,
      assumptions: model.assumptions,
    },
    geometry: (({ vllmKv: _, ...rest }) => ({
      ...rest,
      kvBytesPerToken: kvSpec.bytesPerToken,
      ...(kvSpec.vllmKv ? { vllmKv: kvSpec.vllmKv } : {}),
    }))(model.memory),
    notes,
  };
}

/** The reference a preset resolves to: `<repository>@<digest>` when pinned, else `<repository>:<tag>`. */
export function presetRef(name: keyof typeof IMAGE_PRESETS, digest: string | undefined): string {
  const p = IMAGE_PRESETS[name];
  return digest ? `${p.repository}@${digest}` : `${p.repository}:${p.tag}`;
}

/** A preset on a moving tag is a warning; a prebuilt image whose capabilities are unknown is a note. */
export function imageWarnings(config: ClusterConfig): { warnings: ConfigProblem[]; notes: ConfigProblem[] } {
  const img = config.image;
  const warnings: ConfigProblem[] = [];
  const notes: ConfigProblem[] = [];
  if (img.source === "preset" && !img.digest) {
    warnings.push({
      path: "image.digest",
      message:
        `is not set: preset ${img.name} resolves to the moving tag ${presetRef(img.name, undefined)}` +
        ` (community, mutable), so two nodes or two deploys may run different builds` +
        `; set image.digest to the sha256 you validated (docker buildx imagetools inspect ${presetRef(img.name, undefined)})`,
    });
  }
  if (img.source === "prebuilt" && !img.capabilities) {
    notes.push({
      path: "image.capabilities",
      message:
        `is not set: what ${img.ref} has (speculative methods, KV dtypes, b12x kernels)` +
        ` is not checked; declare it to have the plan refuse a config the image cannot run`,
    });
  }
  return { warnings, notes };
}

/** The known-bad host versions and whether the config acknowledges each. */
export function knownBadPlan(config: ClusterConfig): (KnownBadHost & { readonly acknowledged: boolean })[] {
  const ack = new Set<string>(config.hardening.acknowledgeKnownBad);
  return KNOWN_BAD_HOSTS.map((k) => ({ ...k, acknowledged: ack.has(k.id) }));
}
