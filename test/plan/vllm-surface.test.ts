/**
 * The plan checked against the vLLM the image carries (src/plan/vllm-surface.ts), with the
 * committed surface of vLLM 0.33.0 (generated from vLLM itself; test/vllm checks it against the
 * real parser). A release image: an unknown flag or a value outside vLLM's values is a config error
 * naming the config path, the flag, the vLLM version and the nearest valid option; a VLLM_*
 * variable vLLM does not read is a warning naming what replaced it. A ref image (the recipe's PR
 * build, the community presets): nothing is checked, and the plan says so once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, readStackFile } from "../../src/config";
import { VLLM_SURFACES } from "../../src/models";
import { planFromInput } from "../../src/plan";
import { checkServeArgv, nearest } from "../../src/plan/vllm-surface";
import { baseConfig } from "../support/fixtures";
import { GOLDEN_STACKS, ROOT } from "../support/rendered";

const SURFACE = VLLM_SURFACES["0.33.0"];
if (!SURFACE) throw new Error("no committed vLLM 0.33.0 surface");
const RELEASE = { source: "prebuilt", ref: "vllm/vllm-openai:v0.33.0", vllm: { version: "0.33.0" } };

function refused(c: unknown): readonly { path: string; message: string }[] {
  try {
    planFromInput(c);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail("expected the config to be refused");
}

const stack = (name: string) => readStackFile(join(ROOT, "stacks", `Pulumi.${name}.yaml`)) as Record<string, any>;

describe("the serve argv and VLLM_* env checked against the image's vLLM", () => {
  for (const name of GOLDEN_STACKS) {
    it(`stack ${name}: its image carries a ref, so nothing is checked and the plan says so once`, () => {
      const plan = planFromInput(stack(name));
      assert.equal(plan.image.vllm.surface, null);
      assert.ok(plan.image.vllm.ref, "the ref is in the plan");
      const said = plan.notes.filter((n) => /not checked against vLLM/.test(n.message));
      assert.equal(said.length, 1, "one note");
      assert.match(said[0]?.message ?? "", new RegExp(String(plan.image.vllm.ref).replace(/[.+]/g, "\\$&")));
      assert.ok(!plan.warnings.some((w) => /is not read by vLLM/.test(w.message)));
    });
  }

  it("the same stacks on a vLLM 0.33.0 image plan, and every recipe-era VLLM_* is a warning naming its replacement", () => {
    const c = stack("0731-dspark");
    c.image = RELEASE;
    const plan = planFromInput(c);
    assert.equal(plan.image.vllm.surface, "0.33.0");
    const w = (name: string) => plan.warnings.find((x) => x.message.startsWith(`${name} `));
    assert.match(w("VLLM_USE_B12X_MOE")?.message ?? "missing", /vLLM 0\.33\.0.*--moe-backend b12x replaced it/);
    assert.equal(w("VLLM_USE_B12X_MOE")?.path, "model.variant");
    assert.match(w("VLLM_USE_B12X_FP8_GEMM")?.message ?? "missing", /--linear-backend b12x replaced it/);
    for (const n of ["VLLM_USE_B12X_MHC", "VLLM_USE_B12X_SPARSE_INDEXER", "VLLM_USE_B12X_WO_PROJECTION"])
      assert.match(
        w(n)?.message ?? `${n} missing`,
        /--moe-backend b12x, --linear-backend b12x and --attention-backend B12X/,
      );
    assert.ok(w("VLLM_MEMORY_PROFILE_INCLUDE_ATTN"));
    // Variables vLLM 0.33.0 reads are not warned about.
    for (const n of ["VLLM_USE_AOT_COMPILE", "VLLM_HOST_IP", "VLLM_USE_FLASHINFER_SAMPLER"]) {
      assert.ok(SURFACE.env.names.includes(n), `${n} is in vllm/envs.py`);
      assert.equal(w(n), undefined, `${n} is read by vLLM 0.33.0`);
    }

    const original = stack("1m");
    original.image = RELEASE;
    const p1 = planFromInput(original);
    const names = p1.warnings.map((x) => /^(VLLM_\w+) /.exec(x.message)?.[1]).filter(Boolean);
    assert.deepEqual(names.sort(), [
      "VLLM_TRITON_MLA_SPARSE",
      "VLLM_TRITON_MLA_SPARSE_HEAD_BLOCK_SIZE",
      "VLLM_USE_B12X_MOE",
    ]);
  });

  it("an unknown flag in serving.extraArgs is a config error naming the flag, the version and the nearest option", () => {
    const c = baseConfig();
    c.image = RELEASE;
    c.serving.extraArgs = ["--enable-chunked-prefll", "--max-num-partial-prefills", "2"];
    const p = refused(c);
    assert.deepEqual(
      p.map((x) => x.path),
      ["serving.extraArgs[0]", "serving.extraArgs[1]"],
    );
    assert.match(
      p[0]?.message ?? "",
      /^--enable-chunked-prefll is not a vllm serve option in vLLM 0\.33\.0 \(nearest: --enable-chunked-prefill\)/,
    );
    assert.match(p[1]?.message ?? "", /--max-num-partial-prefills .* vLLM 0\.33\.0 \(nearest: --max-num-/);
    // The same argv on the recipe's PR build is not checked: it plans, with the note.
    c.image = { source: "build" };
    const plan = planFromInput(c);
    assert.ok(plan.nodes[0]?.serveArgv.includes("--enable-chunked-prefll"));
    assert.ok(plan.notes.some((n) => n.path === "image.vllmRef" && /not checked against vLLM/.test(n.message)));
  });

  it("a value outside vLLM's values is a config error at the field that rendered it, with the nearest value", () => {
    const c = baseConfig();
    c.image = RELEASE;
    c.serving.backends = { moe: "b12y", attention: "B12Y" };
    const p = refused(c);
    const moe = p.find((x) => x.path === "serving.backends.moe");
    assert.match(
      moe?.message ?? "missing",
      /--moe-backend b12y is not one of vLLM 0\.33\.0's values for it \(nearest: b12x\)/,
    );
    const att = p.find((x) => x.path === "serving.backends.attention");
    assert.match(att?.message ?? "missing", /--attention-backend B12Y .* \(nearest: B12X\)/);
    // vLLM compares these after its own rewrite (moe: lower case, '-' to '_'; attention: upper case).
    c.serving.backends = { moe: "FlashInfer-B12X", attention: "b12x" };
    c.image = RELEASE;
    assert.equal(planFromInput(c).image.vllm.surface, "0.33.0");
  });

  it("a VLLM_* in serving.extraEnv that vLLM does not read is a warning there", () => {
    const c = baseConfig();
    c.image = RELEASE;
    c.serving.extraEnv = { VLLM_USE_B12X_FP8_GEMM: "1", VLLM_LOGGING_LEVL: "DEBUG", VLLM_LOGGING_LEVEL: "INFO" };
    const plan = planFromInput(c);
    const at = (k: string) => plan.warnings.find((w) => w.path === `serving.extraEnv.${k}`)?.message;
    assert.match(
      at("VLLM_USE_B12X_FP8_GEMM") ?? "missing",
      /--linear-backend b12x replaced it \(vllm\/config\/kernel\.py/,
    );
    assert.match(at("VLLM_LOGGING_LEVL") ?? "missing", /did you mean VLLM_LOGGING_LEVEL\?/);
    assert.equal(at("VLLM_LOGGING_LEVEL"), undefined);
  });

  it("a source build of a release tag is checked; a release without a committed surface is not, and says so", () => {
    const c = baseConfig();
    c.image = { source: "build", vllmRef: "v0.33.0", prs: [] };
    assert.deepEqual(planFromInput(c).image.vllm, {
      version: "0.33.0",
      from: "image.vllmRef (a release tag, no PR)",
      surface: "0.33.0",
    });
    c.image = { source: "prebuilt", ref: "vllm/vllm-openai:v0.99.0", vllm: { version: "0.99.0" } };
    const plan = planFromInput(c);
    assert.equal(plan.image.vllm.surface, null);
    assert.ok(plan.notes.some((n) => n.path === "image.vllm" && /vLLM 0\.99\.0 has no surface/.test(n.message)));
    c.image = { source: "prebuilt", ref: "x/y:z", vllm: { version: "latest" } };
    assert.equal(refused(c)[0]?.path, "image.vllm.version");
  });

  it("vLLM's spelling rules: '_' for '-', --json-option.key=value, unique prefixes, --no-x; a flag with a value is refused", () => {
    const ok = [
      "vllm",
      "serve",
      "m",
      "--served_model_name",
      "x",
      "--default-chat-template-kwargs.thinking=true",
      "--default-chat-template-kwargs.reasoning_effort",
      "high",
      "--enable-prefix-cach",
      "--no-enable-prefix-caching",
      "-tp",
      "2",
      "-O3",
    ];
    assert.deepEqual(checkServeArgv(ok, SURFACE), []);
    const bad = checkServeArgv(["vllm", "serve", "m", "--headless=yes", "--port"], SURFACE);
    assert.deepEqual(
      bad.map((f) => [f.flag, f.severity]),
      [
        ["--headless", "error"],
        ["--port", "error"],
      ],
    );
    assert.deepEqual(checkServeArgv(["ray", "start", "--bogus"], SURFACE), [], "not a vllm serve argv");
    assert.equal(nearest("--foo", []), undefined);
  });
});
