/**
 * What a config selects once its model variant, image and serving settings are put together: the
 * model spec, the effective speculative decoding, backends and KV cache dtype, and what the image
 * is known to have. Pure; used by the config rules (to refuse what cannot run) and by the plan.
 */
import {
  BUILD_CAPABILITIES,
  IMAGE_PRESETS,
  MODEL_VARIANTS,
  type BackendChoice,
  type ImageCapabilities,
  type ModelSpec,
  type ModelVariantName,
} from "../models";
import { PROFILES, type ProfileName } from "../profiles";

type Serving = {
  readonly mtp?: boolean | undefined;
  readonly speculative?:
    | {
        readonly method: "mtp" | "dspark" | "off";
        readonly tokens?: number | undefined;
        readonly draftSampleMethod?: string | undefined;
        readonly attentionBackend?: string | undefined;
      }
    | undefined;
  readonly backends?:
    | {
        readonly moe?: string | undefined;
        readonly linear?: string | undefined;
        readonly attention?: string | undefined;
      }
    | undefined;
  readonly profile:
    | ProfileName
    | {
        readonly base?: ProfileName | undefined;
        readonly kvCacheDtype?: string | undefined;
        readonly numSpeculativeTokens?: number | undefined;
      };
};

type Image =
  | { readonly source: "build" }
  | { readonly source: "preset"; readonly name: keyof typeof IMAGE_PRESETS; readonly digest?: string | undefined }
  | {
      readonly source: "prebuilt";
      readonly ref: string;
      readonly capabilities?: ImageCapabilities | undefined;
      readonly vllm?: { readonly version: string } | { readonly ref: string } | undefined;
    };

/** The variant's spec with the config's id and served name. */
export function variantSpec(model: { variant: ModelVariantName; id?: string; servedName?: string }): ModelSpec {
  const spec = MODEL_VARIANTS[model.variant];
  return { ...spec, id: model.id ?? spec.id, servedName: model.servedName ?? spec.servedName };
}

/** The effective `--speculative-config` settings; `off` has no JSON. */
export interface SpeculativeSettings {
  readonly method: "mtp" | "dspark" | "off";
  /** Which config key decided it (for messages): `serving.speculative`, `serving.mtp` or the variant default. */
  readonly from: string;
  readonly tokens?: number;
  /** The JSON object `--speculative-config` receives. */
  readonly json?: Readonly<Record<string, unknown>>;
}

function profileField<K extends "kvCacheDtype" | "numSpeculativeTokens">(s: Serving, k: K) {
  const p = s.profile;
  if (typeof p === "string") return PROFILES[p][k];
  return p[k] ?? PROFILES[p.base ?? "1m"][k];
}

export function speculativeSettings(s: Serving, spec: ModelSpec): SpeculativeSettings {
  const d = spec.speculativeDefault;
  const from = s.speculative
    ? "serving.speculative.method"
    : s.mtp !== undefined
      ? "serving.mtp"
      : `the ${spec.variant} default`;
  const method = s.speculative?.method ?? (s.mtp === undefined ? d.method : s.mtp ? "mtp" : "off");
  if (method === "off") return { method, from };
  const same = method === d.method;
  const tokens =
    s.speculative?.tokens ??
    (method === "mtp" ? profileField(s, "numSpeculativeTokens") : same && d.tokens !== undefined ? d.tokens : 5);
  const draft = s.speculative?.draftSampleMethod ?? (same ? d.draftSampleMethod : undefined);
  const attention = s.speculative?.attentionBackend ?? (same ? d.attentionBackend : undefined);
  return {
    method,
    from,
    tokens,
    json: {
      method,
      num_speculative_tokens: tokens,
      ...(draft && draft !== "default" ? { draft_sample_method: draft } : {}),
      ...(attention && attention !== "default" ? { attention_backend: attention } : {}),
    },
  };
}

/** `--moe-backend/--linear-backend/--attention-backend`: the config's, else the variant's; "default" omits the flag. */
export function backendSettings(s: Serving, spec: ModelSpec): BackendChoice {
  return {
    moe: s.backends?.moe ?? spec.backends.moe,
    linear: s.backends?.linear ?? spec.backends.linear,
    attention: s.backends?.attention ?? spec.backends.attention,
  };
}

/** The KV cache dtype the profile asks for. */
export function kvCacheDtypeOf(s: Serving): string {
  return profileField(s, "kvCacheDtype");
}

/** What the image is known to have: a preset's or the build's; a prebuilt's only when declared. */
export interface ImageKnowledge {
  readonly capabilities?: ImageCapabilities;
  /** Where the capabilities come from (a public recipe, the recipe's build, or the config). */
  readonly from: string;
}

export function imageKnowledge(image: Image): ImageKnowledge {
  if (image.source === "build") return { capabilities: BUILD_CAPABILITIES, from: "the recipe's source build" };
  if (image.source === "preset") {
    const p = IMAGE_PRESETS[image.name];
    return { capabilities: p.capabilities, from: `preset ${image.name} (${p.source})` };
  }
  return image.capabilities
    ? { capabilities: image.capabilities, from: "image.capabilities (declared in the config)" }
    : { from: "nothing: a prebuilt image without image.capabilities is not checked" };
}

/** Kernel families a backend choice needs (a value naming b12x needs the b12x kernels). */
export function backendsNeeded(b: BackendChoice, spec: SpeculativeSettings): string[] {
  const all = [b.moe, b.linear, b.attention, String(spec.json?.attention_backend ?? "")];
  return all.some((v) => /b12x/i.test(v)) ? ["b12x"] : [];
}
