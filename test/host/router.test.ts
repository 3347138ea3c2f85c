/**
 * The router's host steps run for real in bash (src/host/router.sh and secrets-file.sh as the plan
 * renders them, host paths and journal pointed at a scratch folder, nothing else changed):
 *   - its secrets file is the containers' mechanism: same root, 0700 folder, 0600 file, the key
 *     from stdin as VLLM_API_KEY='<key>' (what systemd's EnvironmentFile= reads), and whichever
 *     of a container's and the router's folders goes last empties the shared folders;
 *   - its unit step writes the plan's unit, reloads, enables and restarts it, and its delete
 *     disables and removes it (systemctl is a stand-in that records its arguments: no systemd
 *     runs here).
 * The venv step (python3 -m venv, pip install from PyPI) runs in test/router/venv-step.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { routerSecretsStdin } from "../../src/plan/router";
import { SECRETS_ROOT, secretsFileScripts, secretsFileSpec, secretsFileStdin } from "../../src/plan/secrets-file";
import { routerDeployment } from "../support/rendered";

const scratch = mkdtempSync(join(tmpdir(), "dsv-router-host-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const KEY = "sk-router-host-test-0c1d2e3f4a5b6c7d8e9f";
const service = routerDeployment().router!.service!;
const step = (id: string) => service.steps.find((s) => s.id === id)!;

/** The rendered script with its journal, secrets root and unit folder in `dir` (the only change). */
function local(text: string, dir: string): string {
  return text
    .replace(/^J=.*$/m, `J=${dir}/journal`)
    .replaceAll(SECRETS_ROOT, `${dir}/secrets`)
    .replaceAll("/etc/systemd/system/", `${dir}/units/`);
}

function bash(script: string, input = "", path?: string): { status: number | null; out: string; err: string } {
  const env = path ? { ...process.env, PATH: `${path}:${process.env.PATH}` } : process.env;
  const r = spawnSync("bash", ["-c", script], { input, encoding: "utf8", env });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("the router's secrets file: the containers' secrets-file mechanism", () => {
  const dir = join(scratch, "secrets-host");
  const router = step("router-secrets");
  const container = secretsFileScripts("dgx-spark-vllm-spark-a1", secretsFileSpec("dgx-spark-vllm-spark-a1"), [
    "HF_TOKEN",
    "VLLM_API_KEY",
  ]);
  const routerFile = join(dir, "secrets", "dgx-spark-vllm-router.service", "secrets.env");
  const containerFile = join(dir, "secrets", "dgx-spark-vllm-spark-a1", "secrets.env");

  it("writes VLLM_API_KEY='<key>' from stdin into a 0600 file in 0700 folders beside a container's, the key in no output", () => {
    const c = bash(local(container.create, dir), secretsFileStdin(["HF_TOKEN", "VLLM_API_KEY"], ["hf_x", KEY]));
    assert.equal(c.status, 0, c.err);
    const r = bash(local(router.create, dir), routerSecretsStdin(KEY));
    assert.equal(r.status, 0, r.err);
    assert.ok(!r.out.includes(KEY) && !r.err.includes(KEY));
    assert.match(r.out, /secrets file .*dgx-spark-vllm-router\.service\/secrets\.env written \(VLLM_API_KEY\)/);
    assert.equal(readFileSync(routerFile, "utf8"), `VLLM_API_KEY='${KEY}'\n`);
    assert.equal(statSync(routerFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "secrets", "dgx-spark-vllm-router.service")).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, "secrets")).mode & 0o777, 0o700);
    // systemd's EnvironmentFile= takes a single-quoted value literally; so does sh, which reads it back here.
    assert.equal(bash(`set -a; . ${routerFile}; printf '%s' "$VLLM_API_KEY"`).out, KEY);
  });

  it("a second run with another key replaces the file; the stdin contract is the containers' (no line: refused)", () => {
    const r = bash(local(router.create, dir), routerSecretsStdin(`${KEY}-2`));
    assert.equal(r.status, 0, r.err);
    assert.equal(readFileSync(routerFile, "utf8"), `VLLM_API_KEY='${KEY}-2'\n`);
    const empty = bash(local(router.create, dir), "");
    assert.equal(empty.status, 1);
    assert.match(empty.err, /stdin ended before the value of VLLM_API_KEY/);
  });

  it("removing the router's keeps the container's and the shared folder; the last remove empties them", () => {
    const r = bash(local(router.delete, dir));
    assert.equal(r.status, 0, r.err);
    assert.ok(!existsSync(join(dir, "secrets", "dgx-spark-vllm-router.service")));
    assert.ok(existsSync(containerFile), "the container's file stays");
    const c = bash(local(container.delete, dir));
    assert.equal(c.status, 0, c.err);
    assert.ok(!existsSync(join(dir, "secrets")), "the shared folder made by the first write is gone");
    assert.ok(!existsSync(join(dir, "journal")), "and the journal records with it");
  });

  it("the other order: the container's removed first, the router's last empties the shared folders", () => {
    const d2 = join(scratch, "secrets-host-2");
    assert.equal(bash(local(router.create, d2), routerSecretsStdin(KEY)).status, 0);
    assert.equal(
      bash(local(container.create, d2), secretsFileStdin(["HF_TOKEN", "VLLM_API_KEY"], ["hf", KEY])).status,
      0,
    );
    assert.equal(bash(local(container.delete, d2)).status, 0);
    assert.ok(existsSync(join(d2, "secrets", "dgx-spark-vllm-router.service", "secrets.env")));
    assert.equal(bash(local(router.delete, d2)).status, 0);
    assert.ok(!existsSync(d2) || readdirSync(d2).length === 0, "nothing of ours is left");
  });
});

describe("the router's unit step", () => {
  const dir = join(scratch, "unit-host");
  const bin = join(dir, "bin");
  const log = join(dir, "systemctl.log");
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(dir, "units"), { recursive: true });
  writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "$*" >> ${log}\n`, { mode: 0o755 });
  const unit = step("router-unit");
  const file = join(dir, "units", "dgx-spark-vllm-router.service");

  it("writes the plan's unit, reloads systemd, enables and (re)starts the router", () => {
    const r = bash(local(unit.create, dir), "", bin);
    assert.equal(r.status, 0, r.err);
    assert.equal(readFileSync(file, "utf8"), local(service.unit.text, dir));
    assert.match(readFileSync(file, "utf8"), /^EnvironmentFile=.*\/dgx-spark-vllm-router\.service\/secrets\.env$/m);
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
      "daemon-reload",
      "enable dgx-spark-vllm-router.service",
      "restart dgx-spark-vllm-router.service",
    ]);
  });

  it("delete stops, disables and removes it", () => {
    rmSync(log);
    const r = bash(local(unit.delete, dir), "", bin);
    assert.equal(r.status, 0, r.err);
    assert.ok(!existsSync(file));
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
      "disable --now dgx-spark-vllm-router.service",
      "daemon-reload",
    ]);
  });
});
