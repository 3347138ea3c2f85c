/**
 * The real vLLM reads what we render. vLLM 0.33.0 from PyPI (the venv of scripts/vllm-venv.sh,
 * cached outside the clone) parses every stack's `vllm serve` argv, for every node, with its own
 * serve parser on the CPU platform (scripts/vllm-surface.py parse). The engine arguments it makes
 * must equal the plan's: model, TP, nnodes, node rank, master address and port, max-model-len, KV
 * dtype, block size, speculative config, max-num-seqs and max-num-batched-tokens. Every VLLM_*
 * variable we set is either read by that vLLM (its vllm/envs.py) or warned about by the plan. And
 * the committed surface (src/models/vllm-surface/0.33.0.json) is what that vLLM reports today.
 *
 * `npm run test:vllm`. Needs the venv: outside CI the test skips with one line when it is
 * missing; under CI=true it fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readStackFile } from "../../src/config/load";
import { VLLM_SURFACES } from "../../src/models";
import { planDeploymentFromInput } from "../../src/plan";
import { checkServeArgv } from "../../src/plan/vllm-surface";
import type { ClusterPlan } from "../../src/plan/types";
import { ROOT } from "../support/rendered";

const SURFACE = VLLM_SURFACES["0.33.0"];
if (!SURFACE) throw new Error("src/models/vllm-surface/0.33.0.json is not registered in src/models/vllm.ts");
const VENV =
  process.env.DSV_VLLM_VENV ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "dgx-spark-vllm", `vllm-${SURFACE.vllm}`);
const PYTHON = join(VENV, "bin", "python");
const SCRIPT = join(ROOT, "scripts", "vllm-surface.py");
const why = existsSync(PYTHON) ? undefined : `no vLLM ${SURFACE.vllm} venv at ${VENV}: run scripts/vllm-venv.sh`;
const skip = why && process.env.CI !== "true" ? `vLLM parser: ${why}` : false;

interface Parsed {
  readonly ok: boolean;
  readonly error?: string;
  readonly engine?: Record<string, unknown>;
  readonly headless?: boolean;
}

/** Every stack file's plans (one per replica), by stack name. */
function stackPlans(): { stack: string; plan: ClusterPlan; input: Record<string, unknown> }[] {
  const out: { stack: string; plan: ClusterPlan; input: Record<string, unknown> }[] = [];
  for (const f of readdirSync(join(ROOT, "stacks")).sort()) {
    const m = /^Pulumi\.(.+)\.yaml$/.exec(f);
    if (!m) continue;
    const input = readStackFile(join(ROOT, "stacks", f)) as Record<string, unknown>;
    for (const plan of planDeploymentFromInput(input).replicas) out.push({ stack: m[1] as string, plan, input });
  }
  return out;
}

function runPython(args: string[], input?: string): string {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, VLLM_TARGET_DEVICE: "cpu", VLLM_LOGGING_LEVEL: "ERROR" },
  });
  assert.equal(r.status, 0, `scripts/vllm-surface.py ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

describe(`vLLM ${SURFACE.vllm}'s own serve parser reads every stack's argv as the plan means it`, { skip }, () => {
  it("the venv is there (CI installs it with scripts/vllm-venv.sh)", () => {
    assert.ok(!why, why);
  });

  const plans = stackPlans();
  const serveNodes = plans.flatMap(({ stack, plan }) =>
    plan.nodes.filter((n) => n.serveArgv[0] === "vllm").map((node) => ({ stack, plan, node })),
  );

  it("covers every stack and every node (a Ray worker runs no vllm serve)", () => {
    const stacks = new Set(readdirSync(join(ROOT, "stacks")).filter((f) => f.endsWith(".yaml")));
    assert.equal(new Set(serveNodes.map((s) => s.stack)).size, stacks.size);
    assert.ok(
      serveNodes.some((s) => s.node.rank > 0),
      "a worker rank's argv is parsed too",
    );
  });

  // Parsed in the same run: two argvs vLLM must refuse (a misspelt flag, a KV dtype it does not
  // have) and one it accepts although it looks wrong (a unique prefix: argparse's abbreviations).
  const first = serveNodes[0]?.node.serveArgv ?? [];
  const wrong = [
    [...first, "--max-num-seqz", "4"],
    first.map((a, i) => (first[i - 1] === "--kv-cache-dtype" ? "fp9" : a)),
    [...first, "--enable-chunked-pref"],
  ];
  let parsed: { vllm: string; results: Parsed[]; envs: string[] } | undefined;
  const results = (): { vllm: string; results: Parsed[]; envs: string[] } => {
    if (!parsed)
      parsed = JSON.parse(runPython(["parse"], JSON.stringify([...serveNodes.map((s) => s.node.serveArgv), ...wrong])));
    return parsed as { vllm: string; results: Parsed[]; envs: string[] };
  };

  it(`every argv parses, and the engine arguments equal the plan's`, () => {
    const r = results();
    assert.equal(r.vllm, SURFACE.vllm, "the venv carries the vLLM whose surface is committed");
    serveNodes.forEach(({ stack, plan, node }, i) => {
      const res = r.results[i] as Parsed;
      const at = `${stack} ${node.name} (rank ${node.rank})`;
      assert.ok(res.ok, `${at}: vLLM refused the argv: ${res.error}`);
      const e = res.engine as Record<string, unknown>;
      const expected = {
        model: plan.model.delivery === "local" && plan.model.localPath ? plan.model.localPath : plan.model.id,
        tensor_parallel_size: plan.cluster.tensorParallelSize,
        nnodes: plan.cluster.nodeCount,
        node_rank: node.rank,
        master_addr: plan.link.masterAddr,
        master_port: plan.link.masterPort,
        max_model_len: plan.profile.maxModelLen,
        kv_cache_dtype: plan.variant.kvCacheDtype,
        block_size: plan.profile.blockSize,
        speculative_config: plan.variant.speculative.config ?? null,
        max_num_seqs: plan.profile.maxNumSeqs,
        max_num_batched_tokens: plan.profile.maxNumBatchedTokens,
      };
      const got = Object.fromEntries(Object.keys(expected).map((k) => [k, e[k]]));
      assert.deepEqual(got, expected, `${at}: what vLLM parsed differs from the plan`);
      assert.equal(res.headless, node.rank > 0, `${at}: --headless on worker ranks only`);
    });
  });

  it("vLLM refuses a misspelt flag and a value it lacks, and the plan's own check agrees on all of them", () => {
    const [flag, dtype, prefix] = results().results.slice(serveNodes.length);
    assert.equal(flag?.ok, false);
    assert.match(String(flag?.error), /unrecognized arguments: --max-num-seqz 4/);
    assert.equal(dtype?.ok, false);
    assert.match(String(dtype?.error), /CacheConfig.*cache_dtype.*fp9/);
    assert.equal(prefix?.ok, true, String(prefix?.error));
    // src/plan/vllm-surface.ts on the same argvs, with the committed surface.
    const errors = (argv: readonly string[]) => checkServeArgv(argv, SURFACE).filter((f) => f.severity === "error");
    for (const { stack, node } of serveNodes) assert.deepEqual(errors(node.serveArgv), [], `${stack} ${node.name}`);
    assert.deepEqual(
      wrong.map((argv) => errors(argv).map((f) => f.flag)),
      [["--max-num-seqz"], ["--kv-cache-dtype"], []],
    );
  });

  it(`every VLLM_* we set is read by vLLM ${SURFACE.vllm}, or the plan warns about it by name`, () => {
    const real = new Set(results().envs);
    for (const { stack, plan, input } of plans) {
      // The same stack on an image that says it carries the released vLLM: the check runs.
      const released = {
        ...input,
        image: { source: "prebuilt", ref: "vllm/vllm-openai:v0.33.0", vllm: { version: SURFACE.vllm } },
      };
      const checked = planDeploymentFromInput(released).replicas[0] as ClusterPlan;
      assert.equal(checked.image.vllm.surface, SURFACE.vllm);
      const warned = new Set(
        checked.warnings
          .map((w) => /^(VLLM_[A-Z0-9_]+) (?:\([^)]*\) )?is not read by vLLM/.exec(w.message)?.[1])
          .filter(Boolean),
      );
      const ours = new Set(plan.nodes.flatMap((n) => [...Object.keys(n.env), ...n.secretEnv]));
      for (const name of [...ours].filter((n) => n.startsWith("VLLM_")).sort()) {
        assert.ok(
          real.has(name) !== warned.has(name),
          `${stack}: ${name} is ${real.has(name) ? "read by vLLM but warned about" : "not read by vLLM and not warned about"}`,
        );
      }
    }
  });

  it("the committed surface is what this vLLM reports (regenerate: see its $comment)", () => {
    const dir = mkdtempSync(join(tmpdir(), "dsv-vllm-surface-"));
    try {
      const out = join(dir, `${SURFACE.vllm}.json`);
      runPython([out]);
      const fresh = JSON.parse(readFileSync(out, "utf8"));
      const committed = JSON.parse(
        readFileSync(join(ROOT, "src", "models", "vllm-surface", `${SURFACE.vllm}.json`), "utf8"),
      );
      for (const k of ["vllm", "serve", "env"]) assert.deepEqual(fresh[k], committed[k], `the surface's ${k} differs`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
