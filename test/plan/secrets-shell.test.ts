import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { renderSummary } from "../../src/cli/summary";
import { loadClusterConfig } from "../../src/config";
import { planCluster, planFromInput } from "../../src/plan";
import { secretsFileStep, withoutSecretsFile } from "../../src/plan/secrets-file";
import { baseConfig, twinConfig } from "../support/fixtures";

// Fake secrets, assembled at run time so no token- or key-shaped text is committed.
const SECRETS = {
  hf: ["hf", "REALLOOKINGTOKENabcdef0123456789"].join("_"),
  api: "sk-api-SECRET-9f8e7d6c5b4a39281706",
  key: `-----BEGIN ${["OPENSSH", "PRIVATE", "KEY"].join(" ")}----- MATERIAL`,
};

function secretConfig() {
  const c = twinConfig();
  c.model.hfToken = SECRETS.hf;
  c.serving.apiKey = SECRETS.api;
  c.ssh.privateKey = SECRETS.key;
  c.nodes[1].ssh.privateKey = `${SECRETS.key}-worker`;
  return c;
}

describe("secrets never appear in the plan", () => {
  for (const launcher of ["mp", "ray"]) {
    it(`JSON, summary, scripts and command lines (${launcher})`, () => {
      const c = secretConfig();
      c.serving.launcher = launcher;
      c.link = { gidPolicy: "resolve" };
      const plan = planFromInput(c, "deploy");
      const texts = [
        JSON.stringify(plan),
        renderSummary(plan, "test"),
        ...plan.nodes.flatMap((n) => [
          n.dockerRun,
          n.serveCommandLine,
          ...n.hostSteps.flatMap((s) => [s.create, s.delete]),
          ...n.linkSteps.flatMap((s) => [s.create, s.delete]),
          ...[secretsFileStep(n.container)].flatMap((s) => (s ? [s.create, s.delete] : [])),
        ]),
      ];
      for (const t of texts)
        for (const s of Object.values(SECRETS)) assert.ok(!t.includes(s) && !t.includes("MATERIAL"), "secret leaked");
      assert.equal(plan.secrets["model.hfToken"], "[secret]");
      assert.equal(plan.secrets["nodes[1].ssh.privateKey"], "[secret]");
      // the head gets the API key and the token by name only, from its read-only secrets folder
      assert.deepEqual(plan.nodes[0]!.secretEnv, ["HF_TOKEN", "VLLM_API_KEY"]);
      assert.doesNotMatch(plan.nodes[0]!.dockerRun, / -e (VLLM_API_KEY|HF_TOKEN)\b/);
      assert.match(
        plan.nodes[0]!.dockerRun,
        / -v \/var\/lib\/dgx-spark-vllm\/secrets\/[^ ]+:\/run\/dgx-spark-vllm:ro /,
      );
    });
  }
  it("the validated config prints secrets as [secret]", () => {
    const { config } = loadClusterConfig(secretConfig());
    assert.doesNotMatch(JSON.stringify(config), /hf_REAL|sk-api|MATERIAL/);
    assert.equal(String(config.model.hfToken), "[secret]");
    assert.equal(config.model.hfToken?.reveal(), SECRETS.hf, "the components can still get the value");
  });
});

describe("no config value can inject a command", () => {
  const dir = mkdtempSync(join(tmpdir(), "dsv-shell-"));
  const canary = join(dir, "pwned");
  after(() => rmSync(dir, { recursive: true, force: true }));
  const hostile = [
    `$(touch ${canary})`,
    `; touch ${canary}`,
    `\`touch ${canary}\``,
    `' ; touch ${canary} ; '`,
    `"$(touch ${canary})"`,
    "a b  c",
    "*",
    "${HOME}",
  ];
  // Stand-ins for vllm and docker that record their argv (NUL-separated) and one env variable.
  for (const name of ["vllm", "docker"]) {
    writeFileSync(
      join(dir, name),
      `#!/bin/bash\nprintf '%s\\0' "$@" > ${dir}/${name}.argv\nprintf '%s' "\${EVIL-}" > ${dir}/${name}.env\n`,
    );
    chmodSync(join(dir, name), 0o755);
  }
  const run = (line: string) =>
    spawnSync("bash", ["-c", line], { env: { PATH: `${dir}:/usr/bin:/bin`, HOME: "/root" }, encoding: "utf8" });
  const argvOf = (name: string) =>
    readFileSync(join(dir, `${name}.argv`), "utf8")
      .split("\0")
      .slice(0, -1);

  it("pattern-checked values reject shell syntax", () => {
    const c = baseConfig();
    c.nodes[0].dataPlane[0].netdev = "enp1s0f1np1; reboot";
    c.nodes[0].name = "$(id)";
    c.nodes[1].ssh.host = "h`reboot`";
    c.model.hfCachePath = "/data/$(id)";
    c.image = { source: "build", vllmRef: "28fef2c70;reboot" };
    assert.throws(
      () => loadClusterConfig(c),
      (e: any) =>
        [
          "nodes[0].dataPlane[0].netdev",
          "nodes[0].name",
          "nodes[1].ssh.host",
          "model.hfCachePath",
          "image.vllmRef",
        ].every((p) => e.problems.some((q: any) => q.path === p)),
    );
  });

  for (const launcher of ["mp", "ray"]) {
    it(`free-form args and env reach the process intact through the rendered lines (${launcher})`, () => {
      const c = baseConfig();
      c.serving.launcher = launcher;
      c.serving.extraArgs = ["--override-generation-config", ...hostile];
      c.serving.extraEnv = { EVIL: hostile.join(" | ") };
      const plan = planFromInput(c);
      const head = plan.nodes[0]!;
      // The paste-ready serve line runs exactly serveArgv with the env value unchanged.
      run(head.serveCommandLine);
      assert.deepEqual(argvOf("vllm"), head.serveArgv.slice(1));
      assert.equal(readFileSync(join(dir, "vllm.env"), "utf8"), hostile.join(" | "));
      // The docker run line passes the container's command and env unchanged.
      run(head.dockerRun);
      const d = argvOf("docker");
      assert.deepEqual(d.slice(-head.container.command.length), head.container.command);
      assert.ok(d.includes(`EVIL=${hostile.join(" | ")}`));
      if (launcher === "ray") {
        // The Ray head's bash -c script runs ray start then vllm serve with the args unchanged.
        writeFileSync(join(dir, "ray"), "#!/bin/bash\nexit 0\n");
        chmodSync(join(dir, "ray"), 0o755);
        // (without the secrets wrapper: test/host/secrets-file.test.ts runs that one)
        const command = withoutSecretsFile(head.container.command);
        const r = spawnSync(command[0]!, command.slice(1), {
          env: { PATH: `${dir}:/usr/bin:/bin` },
          encoding: "utf8",
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(argvOf("vllm"), head.serveArgv.slice(1));
      }
      assert.equal(existsSync(canary), false, "a hostile value ran a command");
    });
  }
});

describe("host scripts", () => {
  it("every create and delete script is valid bash in strict mode", () => {
    const plan = planFromInput(twinConfig());
    const scripts = plan.nodes
      .flatMap((n) => [...n.hostSteps, ...n.linkSteps].flatMap((s) => [s.create, s.delete]))
      .concat(plan.link.checks.map((c) => c.script));
    assert.ok(scripts.length >= 20);
    for (const s of scripts) {
      assert.match(s, /^set -euo pipefail\n/);
      const r = spawnSync("bash", ["-n"], { input: s, encoding: "utf8" });
      assert.equal(r.status, 0, `${r.stderr}\n${s}`);
    }
  });
  it("every host change has an undo", () => {
    const plan = planFromInput(twinConfig());
    for (const n of plan.nodes)
      for (const s of [...n.hostSteps, ...n.linkSteps]) assert.ok(s.delete.trim().length > 0, `${n.name}/${s.id}`);
    const ids = plan.nodes[0]!.hostSteps.map((s) => s.id);
    assert.deepEqual(ids, ["caches", "min-free-kbytes", "swap-off"]);
  });
  it("persist the MTU, addresses and min_free_kbytes from config", () => {
    const c = twinConfig();
    c.hardening = { minFreeKbytes: 2097152 };
    const plan = planFromInput(c);
    const link = plan.nodes[1]!.linkSteps.find((s) => s.id === "link-address")!.create;
    assert.match(link, /mtu: 9000/);
    assert.match(link, /- "10\.0\.0\.2\/30"/);
    assert.match(link, /- "10\.0\.1\.2\/30"/);
    // link_set (src/host/link.sh; test/host/functions.test.ts calls it) sets every port's MTU
    assert.match(link, /^MTU=9000$/m);
    assert.match(link, /^NETDEV=\(enp1s0f1np1 enP2p1s0f1np1\)$/m);
    assert.match(link, /^link_set$/m);
    const sysctl = plan.nodes[1]!.hostSteps.find((s) => s.id === "min-free-kbytes")!.create;
    assert.match(sysctl, /vm\.min_free_kbytes = 2097152/);
    // min_free_kbytes_set (src/host/hardening.sh) applies it now; the boot unit applies it again at every boot.
    assert.match(sysctl, /^MIN_FREE_KBYTES=2097152$/m);
    assert.match(sysctl, /^min_free_kbytes_set$/m);
    const boot = plan.nodes[1]!.linkSteps.find((s) => s.id === "link-boot")!.create;
    assert.match(boot, /^MIN_FREE_KBYTES=2097152$/m);
    assert.match(boot, /^HARDEN_MIN_FREE=1$/m);
    assert.match(boot, /^HARDEN_SWAP_OFF=1$/m);
  });
});

describe("determinism", () => {
  it("planning the same config twice gives identical output, env keys sorted", () => {
    const a = JSON.stringify(planFromInput(twinConfig()));
    const b = JSON.stringify(planFromInput(twinConfig()));
    assert.equal(a, b);
    const plan = planFromInput(twinConfig());
    for (const n of plan.nodes) assert.deepEqual(Object.keys(n.env), Object.keys(n.env).sort());
  });
  it("does not depend on the order of keys in the input", () => {
    const c = baseConfig();
    const reversed = Object.fromEntries(Object.entries(c).reverse());
    const { config: c1 } = loadClusterConfig(c);
    const { config: c2 } = loadClusterConfig(reversed);
    assert.equal(JSON.stringify(planCluster(c1)), JSON.stringify(planCluster(c2)));
  });
});
