/**
 * The router's venv step for real: the plan's router-venv create script (src/host/router.sh as
 * rendered, its /opt folder and journal pointed at a scratch folder, nothing else changed) makes a
 * venv with vllm-router 0.1.17 from PyPI and the launcher beside it; the launcher runs in it; a
 * second run only checks; delete removes the venv, the folders made for it and its journal record.
 *
 * Prerequisites: python3 with venv, and PyPI (the router venv of scripts/vllm-router-venv.sh stands
 * for both: it was made the same way). In CI (CI=true) a missing one fails; elsewhere the file is
 * skipped with one line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { ROUTER_LAUNCHER, VLLM_ROUTER_VERSION } from "../../src/plan/router";
import { routerDeployment } from "../support/rendered";
import { IN_CI } from "../support/vllm-server";

const ROOT = resolve(__dirname, "..", "..", "..");
const check = spawnSync("bash", [join(ROOT, "scripts", "vllm-router-venv.sh"), "--check"], { encoding: "utf8" });
const why = check.status === 0 ? undefined : (check.stderr ?? "").trim().split("\n").at(-1) || "no router venv";
const skip = why && !IN_CI ? `router venv step test skipped: ${why}` : false;

describe("the router's venv step, run for real (pip install from PyPI)", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-router-venv-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const step = routerDeployment().router!.service!.steps.find((s) => s.id === "router-venv")!;
  const local = (text: string) =>
    text.replace(/^J=.*$/m, `J=${dir}/journal`).replaceAll("/opt/dgx-spark-vllm/", `${dir}/opt/dgx-spark-vllm/`);
  const venv = join(dir, "opt", "dgx-spark-vllm", `vllm-router-${VLLM_ROUTER_VERSION}`);
  const bash = (text: string) => spawnSync("bash", ["-c", local(text)], { encoding: "utf8", timeout: 600_000 });

  it("installs vllm-router from PyPI in a venv with the launcher beside it, which runs there", () => {
    if (why) throw new Error(`the venv step test needs python3-venv and PyPI: ${why}`);
    const t = Date.now();
    const r = bash(step.create);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`vllm-router ${VLLM_ROUTER_VERSION} installed in ${venv}`));
    console.log(`# router-venv step: installed in ${Date.now() - t} ms`);
    assert.equal(readFileSync(join(venv, "launch-router.py"), "utf8"), ROUTER_LAUNCHER);
    const help = spawnSync(join(venv, "bin", "python"), [join(venv, "launch-router.py"), "--help"], {
      encoding: "utf8",
    });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--worker-urls/);
    assert.match(help.stdout, /--prometheus-port/);
  });

  it("a second run only checks the version; delete removes the venv, the folders made for it and the journal", () => {
    const again = bash(step.create);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already in/);
    const d = bash(step.delete);
    assert.equal(d.status, 0, d.stderr);
    assert.ok(!existsSync(join(dir, "opt")), "the venv and /opt/dgx-spark-vllm made for it are gone");
    assert.ok(!existsSync(join(dir, "journal")), "and its journal record");
    assert.ok(!existsSync(dir) || readdirSync(dir).length === 0);
  });
});
