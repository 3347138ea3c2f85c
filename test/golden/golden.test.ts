/**
 * Golden copies of what the library renders for the three shipped stacks: the plan JSON (with
 * each script replaced by a reference to its file) and every rendered script as its own file.
 * The first stack (1m) keeps all of its scripts; the others keep only the scripts that differ
 * from the first stack's (the stacks differ only in the profile), and the test checks that every
 * other script of theirs is byte-identical to the first stack's copy. A change to the plan or to
 * any script shows up as a reviewable diff under test/golden/.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:unit` and review the diff.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readStackFile } from "../../src/config/load";
import { planFromInput } from "../../src/plan";
import { monitorCheckScript } from "../../src/plan/monitor";
import { observabilityConfigStep } from "../../src/plan/observability";
import type { ObservabilityPlan } from "../../src/plan/types";
import {
  componentScripts,
  GOLDEN_STACKS,
  ROOT,
  routerDeployment,
  splitDeployment,
  splitPlan,
  stackPlan,
} from "../support/rendered";

const UPDATE = process.env.UPDATE_GOLDEN === "1";
const GOLDEN = join(ROOT, "test", "golden");
/** The stack whose scripts are all kept; the others keep what differs from it. */
const BASE = GOLDEN_STACKS[0];

function renderedScripts(stack: string): Map<string, string> {
  const plan = stackPlan(stack);
  return new Map([...splitPlan(plan).scripts, ...componentScripts(plan)]);
}

function compareDir(dir: string, files: Map<string, string>): void {
  if (UPDATE) {
    rmSync(dir, { recursive: true, force: true });
    if (files.size === 0) return;
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of files) writeFileSync(join(dir, f), text);
    return;
  }
  assert.ok(existsSync(dir) || files.size === 0, `${dir} is missing: run UPDATE_GOLDEN=1 npm run test:unit`);
  assert.deepEqual(
    (existsSync(dir) ? readdirSync(dir) : []).sort(),
    [...files.keys()].sort(),
    `the set of golden files in ${dir}`,
  );
  for (const [f, text] of files)
    assert.equal(text, readFileSync(join(dir, f), "utf8"), `${dir}/${f} differs from what is rendered now`);
}

describe("golden copies of the rendered plan and scripts", () => {
  for (const stack of GOLDEN_STACKS) {
    it(`stack ${stack}: plan JSON (scripts by reference) is unchanged`, () => {
      const { skeleton } = splitPlan(stackPlan(stack));
      const text = JSON.stringify(skeleton, null, 2) + "\n";
      const file = join(GOLDEN, stack, "plan.json");
      if (UPDATE) {
        mkdirSync(join(GOLDEN, stack), { recursive: true });
        writeFileSync(file, text);
        return;
      }
      assert.equal(text, readFileSync(file, "utf8"), `${file} differs from what plan --json prints now`);
    });
    it(`stack ${stack}: every rendered script is unchanged`, () => {
      const all = renderedScripts(stack);
      if (stack === BASE) return compareDir(join(GOLDEN, stack, "scripts"), all);
      const base = renderedScripts(BASE);
      const own = new Map([...all].filter(([f, text]) => base.get(f) !== text));
      compareDir(join(GOLDEN, stack, "scripts"), own);
      // Every script not kept for this stack is the base stack's, byte for byte (and its golden copy).
      for (const [f, text] of all) {
        if (own.has(f)) continue;
        assert.equal(
          text,
          readFileSync(join(GOLDEN, BASE, "scripts", f), "utf8"),
          `${stack}: ${f} differs from ${BASE}'s`,
        );
      }
    });
  }
});

describe("golden copies of the observability files (the 1m stack with observability: { enabled: true })", () => {
  it("the config files, the head's config step and each node's UMA monitor with the metrics are unchanged", () => {
    const input = readStackFile(join(ROOT, "stacks", "Pulumi.1m.yaml"));
    input.observability = { enabled: true };
    const plan = planFromInput(input, "plan");
    const o = plan.observability as ObservabilityPlan;
    const files = new Map<string, string>();
    for (const [path, text] of Object.entries(o.files)) files.set(path.split("/").slice(-2).join("_"), text);
    const step = observabilityConfigStep(o);
    files.set("observability-config.create.sh", step.create);
    files.set("observability-config.delete.sh", step.delete);
    for (const n of plan.nodes)
      files.set(
        `${n.name}.uma-headroom-with-metrics.sh`,
        monitorCheckScript(n.name, plan.hardening.umaAlertThresholdGb, o.nodeMetrics[n.name]),
      );
    compareDir(join(GOLDEN, "observability"), files);
  });
});

describe("golden copies of a deployment with vLLM's router (stacks/Pulumi.2x2-replicas.yaml, router and observability on)", () => {
  const dir = join(GOLDEN, "2x2-router");
  /** Every script and file of the deployment: the plan's, the router's steps and the components' per replica. */
  const everything = (router: boolean) => {
    const d = routerDeployment(router);
    const { skeleton, scripts } = splitDeployment(d);
    for (const plan of d.replicas) for (const [f, text] of componentScripts(plan)) scripts.set(f, text);
    return { skeleton, scripts };
  };

  it("the deployment's plan JSON (scripts and observability files by reference) is unchanged", () => {
    const text = `${JSON.stringify(everything(true).skeleton, null, 2)}\n`;
    const file = join(dir, "plan.json");
    if (UPDATE) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, text);
      return;
    }
    assert.equal(text, readFileSync(file, "utf8"), `${file} differs from what plan --json prints now`);
  });

  it("the router's scripts, and every script or file the router changes, are unchanged; the rest is as without it", () => {
    const withRouter = everything(true).scripts;
    const without = everything(false).scripts;
    // Kept: what exists only with the router (its steps) or differs from the same deployment without it.
    const own = new Map([...withRouter].filter(([f, text]) => without.get(f) !== text));
    compareDir(join(dir, "scripts"), own);
    for (const f of ["router.router-venv.create.sh", "router.router-secrets.create.sh", "router.router-unit.create.sh"])
      assert.ok(own.has(f), `${f} is kept`);
    // Only the router's node and the observability of the replica that scrapes it change.
    const changed = [...own.keys()].filter((f) => !f.startsWith("router."));
    assert.deepEqual(changed.sort(), [
      "replica0.observability.dashboards_dgx-spark-vllm.json",
      "replica0.observability.prometheus_prometheus.yml",
      "replica0.observability.prometheus_rules.yml",
      "spark-a1.doctor-probe.sh",
    ]);
    assert.equal(withRouter.size, without.size + 6, "six more: the router's three steps, create and delete");
  });
});
