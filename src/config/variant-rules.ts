/**
 * The rules that relate the model variant, the image and the serving settings: a method the
 * checkpoint has no heads for, a KV cache dtype or backend the variant or the image lacks, and
 * extra args/env that would shadow the variant's own. Each problem names its config path and what
 * to do.
 */
import { IMAGE_PRESETS, MODEL_VARIANTS, type ImageCapabilities, type ModelVariantName } from "../models";
import {
  backendSettings,
  backendsNeeded,
  imageKnowledge,
  kvCacheDtypeOf,
  speculativeSettings,
  variantSpec,
} from "./variant";

type Issue = (path: (string | number)[], message: string) => void;

/** Structural views of the sections (the rules run on sections that parsed). */
interface ModelPart {
  readonly variant: ModelVariantName;
  readonly id: string;
}
type ServingPart = Parameters<typeof speculativeSettings>[0] & {
  readonly extraArgs: readonly string[];
  readonly extraEnv: Readonly<Record<string, string>>;
};
type ImagePart = Parameters<typeof imageKnowledge>[0];

export function variantRules(model: ModelPart, s: ServingPart, image: ImagePart | undefined, issue: Issue): void {
  const spec = variantSpec(model);
  const v = `model.variant ${spec.variant}`;
  const sp = speculativeSettings(s, spec);
  speculativeRules(s, spec, v, issue);
  const kv = kvCacheDtypeOf(s);
  if (!(kv in spec.kvCacheDtypes)) {
    issue(
      KV_PATH,
      `is '${kv}', which the memory planner has no geometry for with ${v}: use one of ${Object.keys(spec.kvCacheDtypes).join(", ")}`,
    );
  }
  if (image) imageCapabilityRules(image, s, spec, v, sp, kv, issue);
  if (model.variant !== "deepseek-v4-flash") shadowRules(model, s, spec, v, issue);
}

const KV_PATH = ["serving", "profile", "kvCacheDtype"];

/** Speculative decoding: one switch, a method the variant has, no tokens without a method. */
function speculativeRules(s: ServingPart, spec: ReturnType<typeof variantSpec>, v: string, issue: Issue): void {
  if (s.mtp !== undefined && s.speculative) {
    issue(
      ["serving", "mtp"],
      "is set together with serving.speculative: remove serving.mtp (serving.speculative.method: off replaces mtp: false)",
    );
  }
  const sp = speculativeSettings(s, spec);
  const methodPath = s.speculative ? ["serving", "speculative", "method"] : ["serving", "mtp"];
  if (sp.method !== "off" && !(spec.speculativeMethods as readonly string[]).includes(sp.method)) {
    const has = spec.speculativeMethods.join(" or ");
    issue(
      methodPath,
      sp.method === "mtp"
        ? `asks for MTP, but ${spec.id} (${v}) has no MTP heads: set serving.speculative.method to ${has} (its bundled draft head) or off`
        : `asks for ${sp.method}, but ${spec.id} (${v}) supports only ${has}: set serving.speculative.method to ${has} or off`,
    );
  }
  if (s.speculative?.method === "off" && s.speculative.tokens !== undefined) {
    issue(["serving", "speculative", "tokens"], "is set while method is off: remove it, or choose a method");
  }
}

/** The image must have what the config asks for (when what it has is known). */
function imageCapabilityRules(
  image: ImagePart,
  s: ServingPart,
  spec: ReturnType<typeof variantSpec>,
  v: string,
  sp: ReturnType<typeof speculativeSettings>,
  kv: string,
  issue: Issue,
): void {
  const kvPath = KV_PATH;
  const know = imageKnowledge(image);
  const caps: ImageCapabilities | undefined = know?.capabilities;
  if (caps) {
    const imagePath =
      image.source === "preset"
        ? ["image", "name"]
        : image.source === "prebuilt"
          ? ["image", "capabilities"]
          : ["image", "source"];
    const which =
      image.source === "preset"
        ? `image preset ${image.name}`
        : image.source === "build"
          ? "the recipe's source build"
          : "the prebuilt image (per image.capabilities)";
    const better = (need: (c: ImageCapabilities) => boolean) => {
      const names = Object.entries(IMAGE_PRESETS)
        .filter(([, p]) => need(p.capabilities))
        .map(([n]) => n);
      return names.length
        ? `use image source: preset with name ${names.join(" or ")}`
        : "use an image that has it (source: prebuilt with its capabilities)";
    };
    if (sp.method !== "off" && !(caps.speculative as readonly string[]).includes(sp.method)) {
      issue(
        imagePath,
        `is ${which}, which has no ${sp.method} speculative decoding (${know?.from})` +
          `: ${better((c) => (c.speculative as readonly string[]).includes(sp.method))}` +
          `, or set serving.speculative.method: off`,
      );
    }
    if (kv in spec.kvCacheDtypes && !caps.kvCacheDtypes.includes(kv)) {
      issue(
        kvPath,
        `is '${kv}', which ${which} does not serve (it has ${caps.kvCacheDtypes.join(", ") || "none"})` +
          `: ${better((c) => c.kvCacheDtypes.includes(kv))}, or use ${caps.kvCacheDtypes[0] ?? "fp8"}`,
      );
    }
    for (const k of backendsNeeded(backendSettings(s, spec), sp)) {
      if (!caps.backends.includes(k)) {
        issue(
          imagePath,
          `is ${which}, which has no ${k} kernels, but ${v} runs with the ${k} backends` +
            ` (serving.backends, speculative attention backend): ${better((c) => c.backends.includes(k))}`,
        );
      }
    }
  }
}

/** Extra args and env may not shadow the variant's own flags and env. */
function shadowRules(
  model: ModelPart,
  s: ServingPart,
  spec: ReturnType<typeof variantSpec>,
  v: string,
  issue: Issue,
): void {
  const flags = new Set(spec.modelFlags.filter((f) => f.startsWith("--")).map((f) => f.split("=")[0] as string));
  s.extraArgs.forEach((a, i) => {
    const flag = a.split("=")[0] as string;
    if (flags.has(flag))
      issue(
        ["serving", "extraArgs", i],
        `sets ${flag}, which ${v} already sets: choose another model.variant or drop it`,
      );
  });
  for (const k of Object.keys(s.extraEnv)) {
    if (k in MODEL_VARIANTS[model.variant].env)
      issue(["serving", "extraEnv", k], `is set by ${v}'s environment (its public recipe): drop it here`);
  }
}
