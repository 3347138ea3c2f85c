/**
 * Lifecycle rehearsal on a real Docker engine (issue #7): the containers the plan renders, run
 * from the stand-in image in place of vLLM; the Pulumi start order with the drop-caches sidecar;
 * a failed start; and the watchdog (rendered by the library, only its node access pointed at this
 * machine) against a killed worker, a hung head, a stopped (SIGSTOP) worker, a lost-rank
 * signature, an exhausted restart budget, too little free memory, and a pause. See test/lifecycle/support.ts for exactly what
 * differs from a deployment on Sparks.
 *
 * In CI (CI=true) a missing Docker engine fails these tests; elsewhere they are skipped with a
 * message. Run alone: `npm run build && node --test --test-reporter=spec dist/test/lifecycle/`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { withAccess } from "../../src/plan/access";
import { dockerRunArgv } from "../../src/plan/container";
import { dropCachesLoop, dropCachesName, dropCachesSidecar, readinessScript } from "../../src/plan/service";
import { watchdogScript } from "../../src/plan/watchdog";
import { shellWords } from "../support/fixtures";
import {
  adaptForThisMachine,
  api,
  API_KEY,
  bashScript,
  docker,
  dockerEngine,
  ensureStandinImage,
  HEAD,
  IN_CI,
  logsOf,
  machineLimits,
  rehearsalAccess,
  rehearsalPlan,
  removeSecretsFile,
  removeStandinImage,
  RUN_ID,
  runRank,
  serving,
  sh,
  shimRuns,
  sidecarsPresent,
  skipWithoutDocker,
  sleep,
  deadline,
  state,
  until,
  WatchdogProcess,
  withScratchJournal,
  WORKER,
  writeDockerShim,
  writeSecretsFile,
  type MachineLimits,
  type Rehearsal,
  type REHEARSAL_WATCHDOG,
} from "./support";

const skip = skipWithoutDocker();
if (skip) console.log(`# ${skip}`);

describe("lifecycle rehearsal on a real Docker engine", { skip: skip ?? false }, () => {
  let image = "";
  let limits: MachineLimits;
  const t0 = Date.now();

  before(() => {
    const e = dockerEngine();
    assert.ok(
      e.ok,
      `${e.why}: the lifecycle rehearsal needs a Docker engine${IN_CI ? " (CI=true: a missing engine is a failure)" : ""}`,
    );
    image = ensureStandinImage();
    limits = machineLimits(image);
  });
  after(() => {
    // Only this run's own tag goes: a concurrent run's containers and image are left alone.
    if (image) removeStandinImage(image);
    console.log(`# lifecycle rehearsal: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  /** A fresh two-node rehearsal with the docker shim; cleaned up (containers and folders) even on failure. */
  async function withCluster(
    watchdog: Partial<typeof REHEARSAL_WATCHDOG>,
    body: (r: Rehearsal, shimBin: string) => Promise<void>,
  ): Promise<void> {
    const r = await rehearsalPlan(image, watchdog);
    try {
      docker("rm", "-f", ...r.plan.nodes.flatMap((n) => [n.container.name, dropCachesName(n)]));
      const shimBin = writeDockerShim(r.dir, limits);
      await body(r, shimBin);
    } finally {
      r.cleanup();
    }
  }

  /**
   * What `pulumi up` does, in its order, with the rendered scripts: on every node the sidecar,
   * then the ranks (workers first, head last), the readiness gate on the head, then the
   * per-node sidecar stop steps (which Pulumi runs only after the gate passed).
   */
  async function deploy(
    r: Rehearsal,
    shimBin: string,
    readinessTimeoutS = 20,
  ): Promise<{ gate: { status: number | null; out: string; err: string } }> {
    const env = { ...process.env, PATH: `${shimBin}:${process.env.PATH}` };
    for (const n of r.plan.nodes) {
      const s = await bashScript(withScratchJournal(dropCachesSidecar(r.plan, n).start, r.dir), "", env);
      assert.equal(s.status, 0, `sidecar start on ${n.name}: ${s.err}`);
    }
    for (const name of r.plan.cluster.startOrder) {
      const n = r.plan.nodes.find((x) => x.name === name)!;
      const run = runRank(n, limits);
      assert.equal(run.status, 0, `docker run ${n.name}: ${run.err}`);
    }
    const gateText = withScratchJournal(
      readinessScript(r.plan, r.head, readinessTimeoutS, 1, rehearsalAccess(r.plan, shimBin)),
      r.dir,
    );
    const gate = await bashScript(gateText, `${API_KEY}\n`, env);
    if (gate.status === 0) {
      for (const n of r.plan.nodes) {
        const s = await bashScript(withScratchJournal(dropCachesSidecar(r.plan, n).stop, r.dir), "", env);
        assert.equal(s.status, 0, s.err);
      }
    }
    return { gate };
  }

  /** The watchdog as the library renders it, with only the node access block pointed at this machine. */
  function startWatchdog(r: Rehearsal, shimBin: string): { wd: WatchdogProcess; stateDir: string; scriptPath: string } {
    const access = rehearsalAccess(r.plan, shimBin);
    const text = watchdogScript(r.plan, access);
    assert.equal(
      text,
      withAccess(watchdogScript(r.plan), r.plan, access),
      "the rehearsal watchdog differs from the production one outside the node access block",
    );
    assert.notEqual(text, watchdogScript(r.plan));
    const scriptPath = join(r.dir, "watchdog.sh");
    writeFileSync(scriptPath, text, { mode: 0o755 });
    const stateDir = join(r.dir, "watchdog-state");
    mkdirSync(stateDir, { recursive: true });
    // What the install step writes (src/plan/watchdog.ts watchdogStep): the API key as a header file, 0600.
    writeFileSync(join(stateDir, "auth-header"), `Authorization: Bearer ${API_KEY}\n`, { mode: 0o600 });
    return { wd: new WatchdogProcess(scriptPath, stateDir), stateDir, scriptPath };
  }

  function indexOfLine(lines: string[], re: RegExp, from = 0): number {
    for (let i = from; i < lines.length; i++) if (re.test(lines[i] as string)) return i;
    return -1;
  }

  /** After a restart: both ranks run, started after `since`, the worker no later than the head; serving; no sidecar. */
  async function assertRestored(r: Rehearsal, wd: WatchdogProcess, since: number): Promise<void> {
    const lines = wd.lines();
    const restart = indexOfLine(lines, /watchdog: restart 1 of at most/);
    assert.ok(restart >= 0, wd.out);
    const sidecarW = indexOfLine(lines, new RegExp(`drop-caches sidecar started on ${WORKER}`), restart);
    const sidecarH = indexOfLine(lines, new RegExp(`drop-caches sidecar started on ${HEAD}`), restart);
    const startW = indexOfLine(lines, new RegExp(`started ${WORKER}$`), restart);
    const startH = indexOfLine(lines, new RegExp(`started ${HEAD}$`), restart);
    const ready = indexOfLine(lines, /watchdog: ready: deepseek-v4 answers with max_model_len=1000000/, restart);
    assert.ok(sidecarW > restart && sidecarH > restart, `sidecars start before the engine:\n${wd.out}`);
    assert.ok(Math.max(sidecarW, sidecarH) < Math.min(startW, startH), `every sidecar before any rank:\n${wd.out}`);
    assert.ok(startW > 0 && startW < startH, `mp order: worker first, head last:\n${wd.out}`);
    assert.ok(ready > startH, wd.out);
    const w = state(r.worker.container.name)!;
    const h = state(r.head.container.name)!;
    assert.equal(w.status, "running");
    assert.equal(h.status, "running");
    assert.ok(w.startedAt >= since && h.startedAt >= since, "both ranks were restarted, not only the failed one");
    assert.ok(w.startedAt <= h.startedAt, "the worker rank started before the head");
    assert.ok(await serving(r.plan), "the API serves after the restart");
    assert.deepEqual(sidecarsPresent(r.plan), [], "the sidecars are gone once /v1/models answers");
    // the watchdog's sidecars were the plan's exact sidecar line
    const runs = shimRuns(r.dir).filter((x) => x.rendered.includes("dgx-spark-vllm.role=drop-caches"));
    assert.ok(runs.length >= 4, "sidecars at deploy and at the restart, on both nodes");
    for (const x of runs) assert.equal(x.rendered.at(-1), dropCachesLoop(1800 + 300));
  }

  it("the secrets-file step writes the head's file root-only from stdin, and its delete leaves nothing", async () => {
    const r = await rehearsalPlan(image);
    try {
      const f = r.head.container.secretsFile;
      assert.ok(f, "the head has a secret (the API key)");
      assert.equal(r.worker.container.secretsFile, undefined, "the worker none (no HF token)");
      const w = writeSecretsFile(r.head);
      assert.equal(w?.status, 0, w?.err);
      assert.ok(!w?.out.includes(API_KEY) && !w?.err.includes(API_KEY), "the step prints no value");
      assert.equal(statSync(`${f.hostDir}/${f.fileName}`).mode & 0o777, 0o600);
      const d = removeSecretsFile(r.head);
      assert.equal(d?.status, 0, d?.err);
      assert.ok(!existsSync(f.hostDir), `${f.hostDir} is gone`);
    } finally {
      r.cleanup();
    }
  });

  it("the plan's docker run line is what the rehearsal starts, changed only where this machine cannot follow it", () => {
    return withCluster({}, async (r) => {
      for (const n of r.plan.nodes) {
        const argv = dockerRunArgv(n.container);
        assert.deepEqual(shellWords(n.dockerRun), argv, "dockerRun is the quoted argv");
        const { argv: adapted, changes } = adaptForThisMachine(argv, limits);
        const allowed = [
          "removed --gpus all",
          ...(limits.privileged ? [] : ["removed --privileged"]),
          `--ulimit nofile=1048576:1048576 -> nofile=${limits.nofile}:${limits.nofile}`,
        ];
        for (const c of changes) assert.ok(allowed.includes(c), `unexpected change ${c}`);
        assert.ok(changes.includes("removed --gpus all"));
        // nothing else moved: the rest is the rendered argv in the same order
        const rest = argv.filter(
          (a, i) =>
            !(
              a === "--gpus" ||
              argv[i - 1] === "--gpus" ||
              (a === "--privileged" && !limits.privileged) ||
              argv[i - 1] === "--ulimit"
            ),
        );
        assert.deepEqual(
          adapted.filter((_a, i) => adapted[i - 1] !== "--ulimit"),
          rest,
        );
      }
    });
  });

  it("start -> ready: ranks in order, the sidecar on every node while loading, gone once /v1/models answers", () => {
    return withCluster({}, async (r, shimBin) => {
      const since = new Date().toISOString();
      const { gate } = await deploy(r, shimBin);
      assert.equal(gate.status, 0, gate.err);
      assert.match(gate.out, /ready: deepseek-v4 max_model_len=1000000/);
      assert.deepEqual(sidecarsPresent(r.plan), []);
      // the engine's own order of events: every sidecar started before the first rank, destroyed after readiness
      const ev = docker(
        "events",
        "--since",
        since,
        "--until",
        new Date().toISOString(),
        "--filter",
        "type=container",
        "--format",
        "{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}",
      );
      const events = ev.out
        .trim()
        .split("\n")
        .map((l) => l.split(" "))
        .map(([t, a, name]) => ({ t: BigInt(t as string), a: a as string, name: name as string }));
      const at = (name: string, action: string) => events.find((e) => e.name === name && e.a === action)?.t;
      const wStart = at(r.worker.container.name, "start")!;
      const hStart = at(r.head.container.name, "start")!;
      assert.ok(wStart < hStart, "worker rank first, head last");
      for (const n of r.plan.nodes) {
        assert.ok(at(dropCachesName(n), "start")! < wStart, `sidecar on ${n.name} runs before the engine starts`);
        assert.ok(
          at(dropCachesName(n), "destroy")! > hStart,
          `sidecar on ${n.name} is removed after the engine came up`,
        );
      }
      // the sidecars got the plan's loop, and the stand-in sh did not run it
      for (const x of shimRuns(r.dir)) assert.equal(x.rendered.at(-1), dropCachesLoop(1800 + 300));
      // the running containers carry the plan's argv and env
      for (const n of r.plan.nodes) {
        const cfg = JSON.parse(docker("inspect", "-f", "{{json .Config}}", n.container.name).out);
        assert.deepEqual(cfg.Cmd, n.container.command);
        for (const [k, v] of Object.entries(n.container.env))
          assert.ok(cfg.Env.includes(`${k}=${v}`), `${n.name}: ${k}`);
        // No secret in docker's container config: the whole `docker inspect` holds no API key
        // (not in Env, Cmd, Args, labels or mounts); the head reads it from its mounted file.
        const inspect = docker("inspect", n.container.name).out;
        assert.ok(!inspect.includes(API_KEY), `${n.name}: docker inspect shows the API key`);
        assert.ok(!cfg.Env.some((e: string) => e.startsWith("VLLM_API_KEY")), `${n.name}: VLLM_API_KEY in Env`);
        const f = n.container.secretsFile;
        assert.equal(f !== undefined, n.role === "head", "only the head has a secret here (no HF token)");
        if (f) {
          const mounts = JSON.parse(docker("inspect", "-f", "{{json .Mounts}}", n.container.name).out);
          assert.ok(
            mounts.some((m: any) => m.Source === f.hostDir && m.Destination === f.containerDir && m.RW === false),
            `${n.name}: the secrets folder, mounted read-only: ${JSON.stringify(mounts)}`,
          );
          const st = statSync(`${f.hostDir}/${f.fileName}`);
          assert.equal(st.mode & 0o777, 0o600, "the secrets file is root-only");
          assert.equal(statSync(f.hostDir).mode & 0o777, 0o700, "in a root-only folder");
        }
      }
      // what a client sees
      assert.equal((await api(r.plan, "/health", { key: null })).status, 200);
      // the stand-in enforces the key it read from VLLM_API_KEY, which only the secrets file held
      assert.equal((await api(r.plan, "/v1/models", { key: null })).status, 401, "the API key is enforced");
      assert.equal((await api(r.plan, "/v1/models", { key: "wrong-key" })).status, 401, "a wrong key is refused");
      const models = JSON.parse((await api(r.plan, "/v1/models")).text);
      assert.equal(models.data[0].max_model_len, 1000000);
      const stream = await api(r.plan, "/v1/chat/completions", {
        body: { model: "deepseek-v4", messages: [{ role: "user", content: "hi" }], stream: true },
      });
      assert.equal(stream.status, 200);
      assert.match(stream.text, /"delta":\{"content":"OK"\}/);
      assert.match(stream.text, /data: \[DONE\]\n\n$/);
    });
  });

  it("the stand-in refuses argv and env the profile does not allow (its checks can fail)", () => {
    return withCluster({}, async (r) => {
      const noUcx = {
        ...r.head,
        container: {
          ...r.head.container,
          env: Object.fromEntries(
            Object.entries(r.head.container.env).filter(([k]) => k !== "UCX_RCACHE_MAX_UNRELEASED"),
          ),
        },
      };
      assert.equal(runRank(noUcx, limits).status, 0);
      const noHeadless = {
        ...r.worker,
        container: { ...r.worker.container, command: r.worker.container.command.filter((a) => a !== "--headless") },
      };
      assert.equal(runRank(noHeadless, limits).status, 0);
      for (const [n, re] of [
        [r.head, /refusing to start: UCX_RCACHE_MAX_UNRELEASED must be '1024'/],
        [r.worker, /refusing to start: a rank > 0 needs --headless/],
      ] as const) {
        const st = await until(
          `${n.name} exits`,
          () => {
            const s = state(n.container.name);
            return s && s.status === "exited" ? s : undefined;
          },
          10_000,
        );
        assert.equal(st.exitCode, 2);
        assert.match(logsOf(n.container.name), re);
      }
    });
  });

  it("a failed start leaves no sidecar behind: the readiness gate removes them on every node and names the node", () => {
    return withCluster({}, async (r, shimBin) => {
      r.control(WORKER, "refuse");
      const { gate } = await deploy(r, shimBin, 4);
      assert.equal(gate.status, 1);
      assert.match(gate.err, new RegExp(`node ${HEAD}: readiness: not ready after 4 s`));
      assert.match(gate.err, new RegExp(`drop-caches sidecars removed on ${HEAD}, ${WORKER}`));
      assert.deepEqual(sidecarsPresent(r.plan), [], "no sidecar after a failed start");
      assert.equal(state(r.worker.container.name)?.exitCode, 1);
      assert.match(logsOf(r.worker.container.name), /Free memory on device/);
    });
  });

  it("kill the worker: the watchdog restarts both ranks in order and readiness returns", () => {
    return withCluster({}, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const { wd } = startWatchdog(r, shimBin);
      try {
        await wd.waitFor(new RegExp(`watchdog: started: ranks ${WORKER} ${HEAD}`), 10_000);
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        await sleep(1500);
        assert.doesNotMatch(wd.out, /restart \d of|probe failed/, "nothing happens while healthy");
        const killed = Date.now();
        assert.equal(docker("kill", r.worker.container.name).status, 0);
        await wd.waitFor(/watchdog: ready: /, 30_000);
        // Seen either way, whichever the next probe meets first: the worker's container exited, or the head's "No route to host".
        assert.match(
          wd.out,
          new RegExp(
            `restart 1 of at most 3 this hour: (${WORKER}: container dgx-spark-vllm-${WORKER} is exited \\(exit code 137\\)|${HEAD} logs a lost-rank signature: .*No route to host)`,
          ),
        );
        await assertRestored(r, wd, killed - 1000);
      } finally {
        await wd.stop();
      }
    });
  });

  it("hang the head: failed probes are detected and both ranks are restored", () => {
    return withCluster({}, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const { wd } = startWatchdog(r, shimBin);
      try {
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        const hung = Date.now();
        r.control(HEAD, "hang");
        await wd.waitFor(/probe failed \(1 of 2\): \/health: no answer within 2 s/, 15_000);
        await wd.waitFor(/watchdog: ready: /, 40_000);
        assert.match(wd.out, /restart 1 of at most 3 this hour: the engine did not answer 2 probes in a row/);
        await assertRestored(r, wd, hung);
      } finally {
        await wd.stop();
      }
    });
  });

  it("a stopped worker (SIGSTOP: running, silent): completions hang, /health says 200, the watchdog restarts both ranks", () => {
    return withCluster({}, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const { wd } = startWatchdog(r, shimBin);
      try {
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        // Every process of the worker rank (the init and the engine) stops where it is: the
        // container still runs, its sockets stay open, nothing answers.
        const pids = docker("top", r.worker.container.name, "-o", "pid")
          .out.split("\n")
          .slice(1)
          .map((l) => l.trim())
          .filter(Boolean);
        assert.ok(pids.length >= 1 && pids.every((p) => /^[1-9]\d*$/.test(p)), `worker pids: ${pids.join(" ")}`);
        const stopped = Date.now();
        assert.equal(sh("kill", ["-STOP", ...pids]).status, 0);
        // What a client sees: /health answers, a completion does not (the head waits on its worker).
        assert.equal((await api(r.plan, "/health", { key: null })).status, 200);
        const body = { model: "deepseek-v4", messages: [{ role: "user", content: "hi" }], max_tokens: 1 };
        await assert.rejects(api(r.plan, "/v1/chat/completions", { body, timeoutMs: 1500 }), /abort|timeout/i);
        assert.equal(
          state(r.worker.container.name)?.status,
          "running",
          "the stopped worker's container still says running",
        );
        await wd.waitFor(/probe failed \(1 of 2\): one-token completion: no answer within 2 s/, 15_000);
        await wd.waitFor(/watchdog: ready: /, 40_000);
        assert.match(
          wd.out,
          /restart 1 of at most 3 this hour: the engine did not answer 2 probes in a row \(one-token completion: no answer/,
        );
        await assertRestored(r, wd, stopped);
      } finally {
        await wd.stop();
      }
    });
  });

  it("a lost rank that keeps running (the silent freeze): its log signature triggers the restart", () => {
    return withCluster({ failuresBeforeRestart: 100 }, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const { wd } = startWatchdog(r, shimBin);
      try {
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        const severed = Date.now();
        r.control(HEAD, "sever");
        await wd.waitFor(/watchdog: ready: /, 30_000);
        // both containers were still running: only the logs said a rank was lost
        assert.match(
          wd.out,
          new RegExp(
            `restart 1 of at most 3 this hour: (${HEAD}|${WORKER}) logs a lost-rank signature: .*(TCPStore server has shut down|No route to host)`,
          ),
        );
        await assertRestored(r, wd, severed);
      } finally {
        await wd.stop();
      }
    });
  });

  it("restart budget exhausted: it stops every rank, removes the sidecars, says so and stays stopped", () => {
    return withCluster({ maxRestartsPerHour: 2 }, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const { wd, stateDir, scriptPath } = startWatchdog(r, shimBin);
      try {
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        r.control(WORKER, "refuse\ndie"); // the worker's engine dies now, and every start fails the memory check
        const code = await Promise.race([wd.exit, deadline(45_000)]);
        assert.equal(code, 3, wd.out);
        const lines = wd.lines();
        assert.equal(lines.filter((l) => /watchdog: restart \d of at most 2/.test(l)).length, 2, wd.out);
        assert.equal(
          lines.filter((l) =>
            new RegExp(
              `restart failed: ${WORKER} stopped while the engine was loading \\(exited, exit code 1\\): .*Free memory on device`,
            ).test(l),
          ).length,
          2,
          wd.out,
        );
        assert.match(
          wd.out,
          new RegExp(
            `giving up: 2 restart\\(s\\) in the last hour reached the cap \\(maxRestartsPerHour=2\\); last problem: ${WORKER}: container dgx-spark-vllm-${WORKER} is exited`,
          ),
        );
        assert.match(wd.out, /the service stays down until an operator runs: .* resume/);
        // restarts were spaced: after one failed restart, at least 2 x minRestartIntervalSeconds (4 s, counted in whole seconds of `date +%s`, so > 3 s) between their starts
        const starts = wd
          .timed()
          .filter((l) => /watchdog: restart \d of at most 2/.test(l.line))
          .map((l) => l.at);
        assert.ok(
          (starts[1] as number) - (starts[0] as number) >= 3000,
          `restarts ${(starts[1] as number) - (starts[0] as number)} ms apart`,
        );
        assert.notEqual(state(r.head.container.name)?.status, "running");
        assert.notEqual(state(r.worker.container.name)?.status, "running");
        assert.deepEqual(sidecarsPresent(r.plan), []);
        const st = await bashScript(`DGX_SPARK_VLLM_WATCHDOG_DIR=${stateDir} bash ${scriptPath} status`);
        assert.match(st.out, /^gave up: /);
        // a watchdog started again (a reboot, systemd) does not resume on its own
        const again = new WatchdogProcess(scriptPath, stateDir);
        assert.equal(await Promise.race([again.exit, deadline(10_000)]), 3);
        assert.match(again.out, /gave up earlier .*not probing or restarting until an operator runs: .* resume/);
      } finally {
        await wd.stop();
      }
    });
  });

  it("too little free memory: it refuses to start the engine, says so, waits, and stops after the cap", () => {
    return withCluster({ minFreeGiB: 4000, maxRestartsPerHour: 1, bootTimeoutSeconds: 5 }, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const runsBefore = shimRuns(r.dir).length;
      const { wd } = startWatchdog(r, shimBin);
      try {
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        docker("kill", r.worker.container.name);
        await wd.waitFor(
          new RegExp(
            `refusing to start the engine; ${WORKER} has [\\d.]+ GiB available but the engine needs 4000\\.0 GiB to start; ${HEAD} has [\\d.]+ GiB available but the engine needs 4000\\.0 GiB to start; waiting`,
          ),
          15_000,
        );
        const code = await Promise.race([wd.exit, deadline(30_000)]);
        assert.equal(code, 3, wd.out);
        assert.match(wd.out, /restart failed: free memory stayed below what the engine needs for 5 s/);
        assert.match(wd.out, /giving up: 1 restart\(s\) in the last hour/);
        assert.doesNotMatch(
          wd.out,
          new RegExp(`started (${WORKER}|${HEAD})$`, "m"),
          "no rank was started into low memory",
        );
        assert.equal(shimRuns(r.dir).length, runsBefore, "no sidecar either");
        assert.notEqual(state(r.head.container.name)?.status, "running");
      } finally {
        await wd.stop();
      }
    });
  });

  it("pause for maintenance: no restarts while paused; resume restores the service", () => {
    return withCluster({}, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const { wd, stateDir, scriptPath } = startWatchdog(r, shimBin);
      const cli = (...a: string[]) =>
        bashScript(`DGX_SPARK_VLLM_WATCHDOG_DIR=${stateDir} bash ${scriptPath} ${a.join(" ")}`);
      try {
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        const p = await cli("pause", "'kernel update'");
        assert.equal(p.status, 0);
        await wd.waitFor(/watchdog: paused \(kernel update .*\): not probing or restarting/, 10_000);
        assert.match((await cli("status")).out, /^paused: kernel update/);
        docker("stop", "-t", "1", r.head.container.name, r.worker.container.name);
        await sleep(4000);
        assert.doesNotMatch(wd.out, /restart \d of/, "nothing restarted while paused");
        const resumed = Date.now();
        assert.equal((await cli("resume")).status, 0);
        await wd.waitFor(/watchdog: ready: /, 30_000);
        assert.match(wd.out, /resumed: probing again/);
        await assertRestored(r, wd, resumed);
      } finally {
        await wd.stop();
      }
    });
  });

  it("an update's hold: no restart while held, unhold probes again at once, a hold never released expires and the service is restored", () => {
    return withCluster({}, async (r, shimBin) => {
      assert.equal((await deploy(r, shimBin)).gate.status, 0);
      const { wd, stateDir, scriptPath } = startWatchdog(r, shimBin);
      const cli = (...a: string[]) =>
        bashScript(`DGX_SPARK_VLLM_WATCHDOG_DIR=${stateDir} bash ${scriptPath} ${a.join(" ")}`);
      try {
        await wd.waitFor(/watchdog: healthy: deepseek-v4 answers/, 10_000);
        // What pulumi up does around a replacement that goes well: hold, ranks replaced, unhold.
        assert.equal((await cli("hold", "600", "'pulumi up replacing containers'")).status, 0);
        await wd.waitFor(/watchdog: held until \S+ \(pulumi up replacing containers/, 10_000);
        docker("stop", "-t", "1", r.head.container.name, r.worker.container.name);
        await sleep(3000);
        assert.doesNotMatch(wd.out, /restart \d of/, "nothing restarted while held");
        for (const name of r.plan.cluster.startOrder)
          docker("start", r.plan.nodes.find((n) => n.name === name)!.container.name);
        assert.equal((await cli("unhold")).status, 0);
        await wd.waitFor(/watchdog: resumed: probing again/, 10_000);
        await sleep(3000);
        assert.doesNotMatch(wd.out, /restart \d of|probe failed/, "the update's own replacement caused no restart");
        assert.ok(await serving(r.plan), "serving after the update");
        // An update that fails half-way never runs unhold: the hold ends by itself.
        assert.equal((await cli("hold", "5", "'pulumi up replacing containers'")).status, 0);
        assert.match((await cli("status")).out, /^held until \S+: pulumi up replacing containers/);
        const killed = Date.now();
        assert.equal(docker("kill", r.worker.container.name).status, 0);
        await wd.waitFor(
          /the hold \(pulumi up replacing containers .*\) expired without an unhold: probing again/,
          20_000,
        );
        const expiredAt = Date.now();
        assert.ok(expiredAt - killed >= 3000, "held for its whole time");
        await wd.waitFor(/watchdog: ready: /, 30_000);
        await assertRestored(r, wd, killed);
      } finally {
        await wd.stop();
      }
    });
  });

  it("a second run on the same engine keeps its containers and image: this run removes only its own", async () => {
    // Another run's stand-in tag and rank container, named as that run would name them.
    const foreignTag = image.replace(`-${RUN_ID}`, "-zzother");
    const foreign = "dgx-spark-vllm-rh-zzother-head";
    assert.notEqual(foreignTag, image);
    assert.equal(docker("tag", image, foreignTag).status, 0);
    try {
      const run = docker("run", "-d", "--rm", "--name", foreign, "--entrypoint", "sh", foreignTag, "-c", "sleep");
      assert.equal(run.status, 0, run.err);
      await withCluster({}, async (r, shimBin) => {
        assert.equal((await deploy(r, shimBin)).gate.status, 0);
      });
      removeStandinImage(image);
      assert.equal(state(foreign)?.status, "running", "the other run's container is untouched by this run's cleanup");
      assert.equal(docker("image", "inspect", foreignTag).status, 0, "the other run's image tag is untouched");
      assert.notEqual(docker("image", "inspect", image).status, 0, "this run's own tag is gone");
      image = ensureStandinImage(); // found under the other run's tag: tagged again, not rebuilt
      assert.equal(docker("image", "inspect", image).status, 0);
    } finally {
      docker("rm", "-f", foreign);
      docker("image", "rm", foreignTag);
    }
  });
});
