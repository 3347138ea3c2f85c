/**
 * Issue #7 under Pulumi mocks and as pure rendering: the docker run line equals the
 * docker.Container inputs; VllmService installs the watchdog on the head after readiness (with
 * the API key on stdin, as a secret) and renders the readiness gate that removes the sidecars on
 * failure; the watchdog's order, timing and free-memory floor come from the plan; its scripts are
 * valid bash; the config rejects bad watchdog settings with clear errors.
 */
import { recordTransformation, settle, unwrap, isSecret, REPO_ROOT, type Recorded } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { SparkNode } from "../../src/components/spark-node";
import { VllmImage } from "../../src/components/vllm-image";
import { VllmService, containerArgs } from "../../src/components/vllm-service";
import { sizeToMiB } from "../../src/components/common";
import { loadClusterConfig, readStackFile } from "../../src/config/load";
import { ConfigError } from "../../src/config/errors";
import { planFromInput } from "../../src/plan/cluster";
import { dockerRunArgv } from "../../src/plan/container";
import { accessFunction, localAccess, sshAccess, withAccess, ACCESS_BEGIN, ACCESS_END } from "../../src/plan/access";
import { dropCachesLifetimeS, dropCachesSidecar, readinessScript, READINESS_TIMEOUT_S } from "../../src/plan/service";
import { watchdogScript, watchdogStep, watchdogUnit, WATCHDOG_UNIT } from "../../src/plan/watchdog";
import { renderSummary } from "../../src/cli/summary";
import type { ClusterPlan } from "../../src/plan/types";
import { baseConfig } from "../support/fixtures";

/** What argv a shell line really passes to `docker`: run it with a fake docker that records its argv. */
function argvOfLine(line: string): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), "dsv-dockerrun-"));
  try {
    writeFileSync(path.join(dir, "docker"), `#!/bin/bash\nprintf '%s\\0' docker "$@" > ${dir}/argv\n`);
    chmodSync(path.join(dir, "docker"), 0o755);
    const r = spawnSync("bash", ["-c", line], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(path.join(dir, "argv"), "utf8").split("\0").slice(0, -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Read a `docker run` argv back into docker.ContainerArgs-shaped fields (the provider's names). */
function parseDockerRun(argv: string[]) {
  assert.deepEqual(argv.slice(0, 3), ["docker", "run", "-d"]);
  const out: Record<string, any> = {
    envs: [] as string[],
    labels: [] as { label: string; value: string }[],
    volumes: [] as unknown[],
    ulimits: [] as unknown[],
    capAdds: [] as string[],
    devices: [] as unknown[],
    privileged: false,
    init: false,
  };
  let i = 3;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    const v = () => argv[++i] as string;
    if (!a.startsWith("-")) break;
    switch (a) {
      case "--name":
        out.name = v();
        break;
      case "--gpus":
        out.gpus = v();
        break;
      case "--network":
        out.networkMode = v();
        break;
      case "--ipc":
        out.ipcMode = v();
        break;
      case "--privileged":
        out.privileged = true;
        break;
      case "--cap-add":
        out.capAdds.push(v());
        break;
      case "--device": {
        const d = v();
        out.devices.push({ hostPath: d, containerPath: d });
        break;
      }
      case "--shm-size":
        out.shmSize = sizeToMiB(v());
        break;
      case "--memory":
        out.memory = sizeToMiB(v());
        break;
      case "--pids-limit":
        out.pidsLimit = Number(v());
        break;
      case "--init":
        out.init = true;
        break;
      case "--ulimit": {
        const [name, lim] = v().split("=");
        const [soft, hard] = (lim as string).split(":").map(Number);
        out.ulimits.push({ name, soft, hard });
        break;
      }
      case "--restart":
        out.restart = v();
        break;
      case "--label": {
        const l = v();
        const k = l.indexOf("=");
        out.labels.push({ label: l.slice(0, k), value: l.slice(k + 1) });
        break;
      }
      case "-v": {
        const [hostPath, containerPath, mode] = v().split(":");
        out.volumes.push({ hostPath, containerPath, ...(mode === "ro" ? { readOnly: true } : {}) });
        break;
      }
      case "-e":
        out.envs.push(v());
        break;
      case "--entrypoint":
        out.entrypoint = v();
        break;
      default:
        throw new Error(`unexpected docker run option ${a}`);
    }
  }
  out.image = argv[i];
  out.command = argv.slice(i + 1);
  return out;
}

const VARIANTS: [string, (c: Record<string, any>) => void][] = [
  ["1m, privileged, mp", () => {}],
  [
    "256k, non-privileged with a memory limit",
    (c) => {
      c.serving.profile = "256k";
      c.serving.privileged = false;
      c.serving.nonPrivileged = { memoryLimit: "110g" };
    },
  ],
  [
    "512k, ray, GID resolve, twin ports",
    (c) => {
      c.serving.profile = "512k";
      c.serving.launcher = "ray";
      c.link = { gidPolicy: "resolve" };
    },
  ],
];

for (const [what, edit] of VARIANTS) {
  test(`the plan's docker run line equals the docker.Container inputs (${what})`, async () => {
    const c = baseConfig();
    edit(c);
    const plan = planFromInput(c, "deploy");
    const summary = renderSummary(plan, "test");
    for (const n of plan.nodes) {
      const argv = dockerRunArgv(n.container);
      assert.deepEqual(argvOfLine(n.dockerRun), argv, "the plan's dockerRun line runs exactly this argv");
      // and `plan` prints it (one option per line)
      assert.ok(summary.includes(`--name ${n.container.name}`), "plan prints the docker run line");
      const d = parseDockerRun(argv);
      const a = containerArgs(n.name, n.container, plan.image.tag) as Record<string, any>;
      assert.equal(d.name, a.name);
      assert.equal(d.image, a.image);
      // `--entrypoint ""` and the argv, or the argv's first word as the entrypoint: the same process.
      assert.equal(d.entrypoint, "", "the docker run line clears the image's entrypoint");
      assert.equal(a.entrypoints.length, 1, "the Container sets one (so the image's own is cleared)");
      assert.deepEqual([...a.entrypoints, ...a.command], d.command, "and runs the same argv");
      for (const k of ["networkMode", "ipcMode", "privileged", "gpus", "init", "restart", "shmSize", "memory"])
        assert.deepEqual(d[k], a[k], k);
      assert.deepEqual(d.capAdds, a.capabilities?.adds ?? []);
      assert.deepEqual(d.devices, a.devices ?? []);
      assert.deepEqual(d.ulimits, a.ulimits);
      assert.deepEqual(d.volumes, a.volumes);
      assert.deepEqual(d.labels, a.labels);
      // env: the same plain variables both ways, and no secret passed as env (not even by name):
      // the values come from the read-only secrets folder, exported by the command's wrapper.
      assert.deepEqual(d.envs, a.envs);
      assert.ok(
        d.envs.every((e: string) => e.includes("=")),
        "no `-e NAME` for a secret",
      );
      for (const k of n.container.secretEnv) assert.ok(!a.envs.some((e: string) => e.startsWith(`${k}=`)), k);
      if (n.container.secretEnv.length > 0) {
        const f = n.container.secretsFile;
        assert.ok(f);
        assert.ok(
          d.volumes.some((v: any) => v.hostPath === f.hostDir && v.readOnly),
          "the secrets folder, read-only",
        );
        assert.equal(d.command[3], "dgx-spark-vllm-secrets");
      }
      // the one documented difference: --pids-limit is in the line, and the provider cannot express it (VllmService warns)
      assert.equal(d.pidsLimit, n.container.pidsLimit);
      assert.equal(a.pidsLimit, undefined);
    }
  });
}

test("watchdog plan: launcher order, timing and the free-memory floor come from the plan and config", () => {
  const mp = planFromInput(baseConfig(), "deploy");
  assert.deepEqual(mp.watchdog.restartOrder, ["spark-worker", "spark-head"], "mp: workers first, head last");
  assert.deepEqual(mp.watchdog.stopOrder, ["spark-head", "spark-worker"]);
  assert.deepEqual(mp.watchdog.restartOrder, mp.cluster.startOrder);
  const need = mp.memory.nodes.map((b) => b.start.needsGiB);
  assert.deepEqual(Object.values(mp.watchdog.minFreeGiB), need, "default floor = what vLLM's start check needs");
  assert.ok((need[0] as number) > 90, "util 0.80 x 121.7 GiB");
  assert.equal(mp.watchdog.maxRestartsPerHour, 3);
  assert.equal(mp.watchdog.bootTimeoutSeconds, 900);
  assert.equal(mp.watchdog.minRestartIntervalSeconds, 300);
  assert.ok(!mp.warnings.some((w) => w.path.startsWith("serving.watchdog")), "production defaults do not warn");
  const s = watchdogScript(mp);
  assert.match(s, /^START_ORDER=\(spark-worker spark-head\)$/m);
  assert.match(s, /^MIN_RESTART_INTERVAL=300$/m);
  assert.match(s, /^MAX_RESTARTS_PER_HOUR=3$/m);
  assert.match(
    s,
    new RegExp(`^declare -A MIN_FREE_KB=\\(\\[spark-worker\\]=${Math.ceil((need[1] as number) * 1048576)} `, "m"),
  );

  const c = baseConfig();
  c.serving.launcher = "ray";
  c.serving.watchdog = { maxRestartsPerHour: 5, minRestartIntervalSeconds: 30, bootTimeoutSeconds: 60, minFreeGiB: 80 };
  const ray = planFromInput(c, "deploy");
  assert.deepEqual(
    ray.watchdog.restartOrder,
    ["spark-head", "spark-worker"],
    "Ray: the head first, the worker rejoins it",
  );
  assert.deepEqual(ray.watchdog.minFreeGiB, { "spark-head": 80, "spark-worker": 80 });
  const w = ray.warnings.filter((x) => x.path.startsWith("serving.watchdog")).map((x) => x.path);
  assert.deepEqual(
    w.sort(),
    ["serving.watchdog.bootTimeoutSeconds", "serving.watchdog.minRestartIntervalSeconds"],
    "faster than the engine boots warns",
  );
  assert.match(watchdogScript(ray), /^START_ORDER=\(spark-head spark-worker\)$/m);
});

test("watchdog config errors are clear and reported together", () => {
  const c = baseConfig();
  c.serving.watchdog = {
    maxRestartsPerHour: 0,
    probeIntervalSeconds: "often",
    minRestartIntervalSeconds: 600,
    maxBackoffSeconds: 60,
    bogus: 1,
  };
  try {
    loadClusterConfig(c);
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const byPath = Object.fromEntries(e.problems.map((p) => [p.path, p.message]));
    assert.match(byPath["serving.watchdog.maxRestartsPerHour"] ?? "", /at least 1/);
    assert.match(byPath["serving.watchdog.probeIntervalSeconds"] ?? "", /wrong type: expected a number/);
    assert.ok(
      Object.keys(byPath).some((k) => k.startsWith("serving.watchdog")) && JSON.stringify(e.problems).includes("bogus"),
      JSON.stringify(e.problems),
    );
  }
  const d = baseConfig();
  d.serving.watchdog = { minRestartIntervalSeconds: 600, maxBackoffSeconds: 60 };
  assert.throws(
    () => loadClusterConfig(d),
    /serving\.watchdog\.maxBackoffSeconds: is 60 s, below minRestartIntervalSeconds \(600 s\)/,
  );
  const stacks = ["1m", "512k", "256k"].map((s) => readStackFile(path.join(REPO_ROOT, "stacks", `Pulumi.${s}.yaml`)));
  for (const s of stacks) assert.equal(loadClusterConfig(s, "plan").config.serving.watchdog.enabled, true);
});

test("the watchdog's node access is one seam: the rehearsal's script differs only there", () => {
  const plan = planFromInput(baseConfig(), "deploy");
  const prod = watchdogScript(plan);
  const local = watchdogScript(plan, localAccess(plan));
  assert.equal(local, withAccess(prod, plan, localAccess(plan)));
  const strip = (s: string) => s.slice(0, s.indexOf(ACCESS_BEGIN)) + s.slice(s.indexOf(ACCESS_END));
  assert.equal(strip(prod), strip(local));
  assert.equal(prod.split(ACCESS_BEGIN).length, 2, "exactly one access block");
  // production: the head runs locally, the worker over SSH to its management host, never prompting
  assert.match(accessFunction(plan, sshAccess(plan)), /spark-head\) bash -c "\$2" ;;/);
  assert.match(
    accessFunction(plan, sshAccess(plan)),
    /spark-worker\) ssh -o BatchMode=yes .* -p 22 spark@192\.168\.1\.12 "\$2" ;;/,
  );
  // every node command goes through on_node; docker is never called directly for a node
  for (const line of prod.split("\n"))
    if (
      /\bdocker (inspect|logs|stop|start|rm|run)\b/.test(line) &&
      !line.startsWith("#") &&
      !line.startsWith("declare -A SIDECAR_RUN")
    )
      assert.match(line, /on_node/, line);
});

test("the watchdog's scripts and unit are valid and do what the README says", () => {
  const plan = planFromInput(baseConfig(), "deploy");
  const step = watchdogStep(plan);
  for (const [what, text] of [
    ["script", watchdogScript(plan)],
    ["create", step.create],
    ["delete", step.delete],
  ] as const) {
    const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  }
  const unit = watchdogUnit(plan);
  for (const line of [
    "Type=simple",
    "User=spark",
    "ExecStart=/usr/local/lib/dgx-spark-vllm/watchdog.sh run",
    "Restart=on-failure",
    "RestartPreventExitStatus=3",
    "After=docker.service network-online.target",
    "WantedBy=multi-user.target",
    `SyslogIdentifier=${WATCHDOG_UNIT}`,
  ]) {
    assert.ok(unit.split("\n").includes(line), line);
  }
  assert.match(step.create, new RegExp(`systemctl enable ${WATCHDOG_UNIT}\\.service`));
  assert.match(step.create, /IFS= read -r key/);
  assert.doesNotMatch(step.create, /test-api-key-value/, "the key comes on stdin, never in the script");
  assert.match(step.delete, new RegExp(`systemctl disable --now ${WATCHDOG_UNIT}\\.service`));
  for (const f of [
    "/etc/systemd/system/dgx-spark-vllm-watchdog.service",
    "/usr/local/bin/dgx-spark-vllm-watchdog",
    "/usr/local/lib/dgx-spark-vllm/watchdog.sh",
  ]) {
    assert.ok(step.create.includes(f) && step.delete.includes(f), f);
  }
});

test("the drop-caches sidecar expires on its own and the readiness gate removes it on failure", () => {
  const plan: ClusterPlan = planFromInput(baseConfig(), "deploy");
  const head = plan.nodes[0]!;
  const sc = dropCachesSidecar(plan, head);
  assert.match(sc.start, /docker run -d --rm --name dgx-spark-vllm-drop-caches-spark-head --privileged/);
  const rounds = Math.ceil(dropCachesLifetimeS(plan) / 60);
  assert.equal(dropCachesLifetimeS(plan), READINESS_TIMEOUT_S + 300);
  assert.ok(sc.start.includes(`while [ "$n" -lt ${rounds} ]; do sync; echo 3 > /proc/sys/vm/drop_caches;`));
  const gate = readinessScript(plan, head);
  assert.match(gate, /trap cleanup EXIT/);
  for (const n of plan.nodes) assert.ok(gate.includes(`[${n.name}]=dgx-spark-vllm-drop-caches-${n.name}`), n.name);
  assert.ok(
    gate.includes('on_node "$n" "docker rm -f ${SIDECAR[$n]@Q} >/dev/null 2>&1 || true"'),
    "the cleanup removes each node's sidecar through on_node",
  );
  const off = baseConfig();
  off.hardening = { dropCachesDuringLoad: false };
  const p2 = planFromInput(off, "deploy");
  const gate2 = readinessScript(p2, p2.nodes[0]!);
  assert.doesNotMatch(gate2, /^on_node\(\) \{$/m, "no node access block: nothing to clean up on other nodes");
  assert.match(gate2, /^SIDECAR_NODES=\(\)$/m);
  assert.match(watchdogScript(p2), /^declare -A SIDECAR_RUN=\(\)$/m, "no sidecar for the watchdog to start");
  assert.doesNotMatch(watchdogScript(p2), /^declare -A SIDECAR_RUN=.*docker run/m);
});

test("VllmService installs the watchdog on the head after readiness and the sidecar removal, with the API key as a secret", async () => {
  const input = baseConfig();
  input.image = { source: "prebuilt", ref: "ghcr.io/example/vllm-gb10:0.24.0" };
  input.model.prefetch = false;
  const plan = planFromInput(input, "deploy");
  const opts = { transformations: [recordTransformation] };
  const nodes = plan.nodes.map(
    (n) =>
      new SparkNode(
        `wd-${n.name}`,
        SparkNode.fromPlan(plan, { node: n.name, privateKey: pulumi.secret("k"), umaMonitor: false }),
        opts,
      ),
  );
  const image = new VllmImage("wd-image", VllmImage.fromPlan(plan, { nodes }), opts);
  const svc = new VllmService(
    "wd-service",
    VllmService.fromPlan(plan, {
      nodes,
      image,
      apiKey: pulumi.secret("the-api-key"),
      hfToken: pulumi.secret("h"),
      readinessTimeoutSeconds: 2400,
    }),
    opts,
  );
  assert.ok(svc.watchdog);
  const all = await settle();
  const wd = all.get("wd-service-watchdog") as Recorded;
  const step = watchdogStep(plan);
  assert.equal(wd.inputs.create, step.create);
  assert.equal(wd.inputs.delete, step.delete);
  assert.ok(isSecret(wd.inputs.stdin) && unwrap(wd.inputs.stdin) === "the-api-key");
  assert.equal(wd.inputs.logging, "none");
  assert.deepEqual(
    unwrap(wd.inputs.triggers),
    ["wd-service-spark-worker-id", "wd-service-spark-head-id"],
    "re-installed when a container is replaced",
  );
  assert.deepEqual(wd.dependsOn.sort(), [
    "wd-service-readiness",
    "wd-service-spark-head-drop-caches-stop",
    "wd-service-spark-worker-drop-caches-stop",
  ]);
  // the connection is the head's
  assert.equal(unwrap(wd.inputs.connection).host, "192.168.1.11");
  // readiness gate: the rendered script, sidecars removed on failure; sidecars live as long as the longer timeout
  const gate = all.get("wd-service-readiness") as Recorded;
  assert.equal(gate.inputs.create, readinessScript(plan, plan.nodes[0]!, 2400, 10));
  const sc = all.get("wd-service-spark-worker-drop-caches") as Recorded;
  assert.equal(sc.inputs.create, dropCachesSidecar(plan, plan.nodes[1]!, dropCachesLifetimeS(plan, 2400)).start);
  assert.match(sc.inputs.create, /while \[ "\$n" -lt 45 \]/, "2400 s + 300 s, in 60 s rounds");

  // disabled: no watchdog resource
  const off = baseConfig();
  off.image = { source: "prebuilt", ref: "ghcr.io/example/vllm-gb10:0.24.0" };
  off.model.prefetch = false;
  off.serving.watchdog = { enabled: false };
  const p2 = planFromInput(off, "deploy");
  const n2 = p2.nodes.map(
    (n) =>
      new SparkNode(
        `nowd-${n.name}`,
        SparkNode.fromPlan(p2, { node: n.name, privateKey: pulumi.secret("k"), umaMonitor: false }),
        opts,
      ),
  );
  const s2 = new VllmService(
    "nowd-service",
    VllmService.fromPlan(p2, {
      nodes: n2,
      image: new VllmImage("nowd-image", VllmImage.fromPlan(p2, { nodes: n2 }), opts),
      apiKey: pulumi.secret("a"),
      hfToken: pulumi.secret("h"),
    }),
    opts,
  );
  assert.equal(s2.watchdog, undefined);
  const all2 = await settle();
  assert.ok(!all2.has("nowd-service-watchdog"));
});
