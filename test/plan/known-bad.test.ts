/**
 * The known-bad host list as preflight runs it: the rendered check, run by bash against a stand-in
 * `uname`, refuses the bad kernel with what breaks and the fix, passes a good one, and only warns
 * when the config acknowledges the entry. An unknown acknowledgement is a config error.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../../src/config";
import { planFromInput } from "../../src/plan";
import { preflightChecks } from "../../src/plan/service";
import { baseConfig } from "../support/fixtures";

const dir = mkdtempSync(join(tmpdir(), "dsv-kernel-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function runKernelCheck(kernel: string, config = baseConfig()) {
  const plan = planFromInput(config, "plan");
  const check = preflightChecks(plan, plan.nodes[0]!).find((c) => c.id === "kernel");
  assert.ok(check, "a kernel preflight check");
  const bin = join(dir, kernel);
  rmSync(bin, { recursive: true, force: true });
  spawnSync("mkdir", ["-p", bin]);
  writeFileSync(join(bin, "uname"), `#!/bin/sh\necho ${kernel}\n`);
  chmodSync(join(bin, "uname"), 0o755);
  return spawnSync("bash", ["-c", check.script], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
}

describe("preflight: known-bad host versions", () => {
  it("refuses DGX OS kernel 7.0.0-1019-nvidia, naming the node, what breaks, the fix and the source", () => {
    const r = runKernelCheck("7.0.0-1019-nvidia");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /node spark-head: preflight kernel: kernel 7\.0\.0-1019-nvidia: NCCL over RoCE fails/);
    assert.match(r.stderr, /ibv_reg_mr_iova2.*ENOMEM/);
    assert.match(r.stderr, /boot the installed 6\.17\.0-1032-nvidia kernel/);
    assert.match(r.stderr, /eugr\/spark-vllm-docker issue #392/);
  });
  it("passes 6.17.0-1032-nvidia and prints the kernel", () => {
    const r = runKernelCheck("6.17.0-1032-nvidia");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "6.17.0-1032-nvidia");
  });
  it("only warns when hardening.acknowledgeKnownBad names the entry", () => {
    const c = baseConfig();
    c.hardening = { acknowledgeKnownBad: ["kernel-7.0.0-1019-nvidia"] };
    const r = runKernelCheck("7.0.0-1019-nvidia", c);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /WARNING kernel 7\.0\.0-1019-nvidia.*acknowledged/);
  });
  it("an acknowledgement of an entry that does not exist is a config error naming the choices", () => {
    const c = baseConfig();
    c.hardening = { acknowledgeKnownBad: ["kernel-6.0"] };
    assert.throws(
      () => planFromInput(c),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some(
          (p) => p.path === "hardening.acknowledgeKnownBad[0]" && /kernel-7\.0\.0-1019-nvidia/.test(p.message),
        ),
    );
  });
});
