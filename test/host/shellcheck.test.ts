/**
 * shellcheck (the Debian package) on every shipped host script (src/host/*.sh) and on every script
 * the library renders for the three stacks (the golden copies' sources, rendered afresh): zero
 * findings. A finding that is not a bug is disabled on its line with a comment saying why.
 * Without shellcheck on PATH this is skipped with a message, except under CI=true, where it fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { HOST_DIR } from "../../src/shell/host";
import {
  componentScripts,
  GOLDEN_STACKS,
  routerDeployment,
  splitDeployment,
  splitPlan,
  stackPlan,
} from "../support/rendered";
import { twinConfig } from "../support/fixtures";
import { planFromInput } from "../../src/plan";

const IN_CI = process.env.CI === "true";
const found = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
const missing =
  found.error || found.status !== 0 ? "shellcheck is not on PATH (Debian: apt-get install shellcheck)" : "";
if (missing && !IN_CI) console.log(`# skipping the shellcheck tests: ${missing}`);

/** shellcheck's findings for these files, one per line ("" when there are none). */
function shellcheck(files: string[]): string {
  const r = spawnSync("shellcheck", ["--shell=bash", "--format=gcc", "--external-sources", ...files], {
    encoding: "utf8",
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck failed to run: ${r.stderr}`);
  return r.stdout.trim();
}

describe("shellcheck: zero findings", { skip: missing && !IN_CI ? missing : false }, () => {
  const tmp = mkdtempSync(join(tmpdir(), "dgx-shellcheck-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("shellcheck is installed", () => assert.equal(missing, "", missing));

  it("src/host/*.sh, the shipped host scripts", () => {
    const files = readdirSync(HOST_DIR)
      .filter((f) => f.endsWith(".sh"))
      .map((f) => join(HOST_DIR, f));
    assert.ok(files.length >= 5, `host scripts in ${HOST_DIR}`);
    assert.equal(shellcheck(files), "");
  });

  for (const stack of GOLDEN_STACKS) {
    it(`every script rendered for stack ${stack}`, () => {
      const plan = stackPlan(stack);
      const dir = join(tmp, stack);
      const all = new Map([...splitPlan(plan).scripts, ...componentScripts(plan)]);
      assert.ok(all.size > 50);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const [f, text] of all) writeFileSync(join(dir, f), text);
      // Findings name the file, so they are readable as they are.
      assert.equal(shellcheck([...all.keys()].map((f) => join(dir, f))), "");
    });
  }
  it("every script rendered for a deployment with vLLM's router (2x2-replicas, router and observability on)", () => {
    const d = routerDeployment();
    const dir = join(tmp, "2x2-router");
    mkdirSync(dir, { recursive: true });
    const all = new Map(
      [...splitDeployment(d).scripts, ...d.replicas.flatMap((p) => [...componentScripts(p)])].filter(([f]) =>
        f.endsWith(".sh"),
      ),
    );
    assert.ok([...all.keys()].filter((f) => f.startsWith("router.")).length === 6, "the router's steps are in");
    for (const [f, text] of all) writeFileSync(join(dir, f), text);
    assert.equal(shellcheck([...all.keys()].map((f) => join(dir, f))), "");
  });
  it("the optional ipv6-off step (link.disableIpv6, no shipped stack sets it)", () => {
    const c = twinConfig();
    c.link = { disableIpv6: true };
    const dir = join(tmp, "ipv6-off");
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const n of planFromInput(c, "plan").nodes) {
      const st = n.linkSteps.find((x) => x.id === "ipv6-off");
      assert.ok(st, `${n.name} has the step`);
      for (const [k, text] of [
        ["create", st.create],
        ["delete", st.delete],
      ] as const) {
        const f = join(dir, `${n.name}.${k}.sh`);
        writeFileSync(f, text);
        files.push(f);
      }
    }
    assert.equal(shellcheck(files), "");
  });
});
