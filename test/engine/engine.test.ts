/**
 * The engine rehearsal (issue #22): the real `pulumi` CLI, the Node.js language host and the
 * command and docker providers run the repository's own program (Pulumi.yaml, dist/src/program.js)
 * on a stack file pointed at two simulated Sparks (test/rehearsal/lab.ts), each with its own real
 * Docker engine (./engines.ts). Nothing here orders or runs a resource: the engine does.
 *
 * What ran where: `pulumi` and its plugins in the lab's network namespace; every remote.Command
 * over SSH on the simulated Spark it names; the docker provider over `ssh://spark@<host>` to that
 * host's engine; the containers (the stand-in engine image of the lifecycle rehearsal, set through
 * `image.ref` as a prebuilt image already on both nodes) in the host's own network namespace, so
 * the readiness gate and the watchdog reach the head on 127.0.0.1 and the ranks meet over the
 * simulated cable's 10.0.0.1/10.0.0.2.
 */
import "../components/support";
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DeepSeekV4Cluster } from "../../src/components/cluster";
import { loadClusterConfig } from "../../src/config/load";
import { SYSCTL_FILE } from "../../src/plan/host";
import { LINK_UNIT, NETPLAN_FILE } from "../../src/plan/link";
import { MONITOR_UNIT } from "../../src/plan/monitor";
import type { ClusterPlan } from "../../src/plan/types";
import { recordTransformation, settle } from "../components/support";
import { dockerEngine, ensureStandinImage, removeStandinImage } from "../lifecycle/support";
import { HEAD, hostSpecs, pointAt, rehearsalPlan, WORKER } from "../rehearsal/cluster";
import { labUnavailable, SimLab } from "../rehearsal/lab";
import { baseConfig } from "../support/fixtures";
import { enginesUnavailable, SimEngines } from "./engines";
import {
  eventSteps,
  findEngine,
  IN_CI,
  previewSteps,
  type Project,
  PulumiCli,
  repoProject,
  type Step,
  testProject,
} from "./pulumi";

const docker = dockerEngine();
const missing = labUnavailable() ?? enginesUnavailable() ?? (docker.ok ? undefined : docker.why);
const engine = missing ? {} : findEngine();
const reason = missing ?? engine.why;
// In CI the rehearsal must run: a missing prerequisite fails it instead of skipping.
const skip = reason && !IN_CI ? `engine rehearsal: ${reason}` : false;

const COMPONENTS = ["SparkNode", "RoceLink", "VllmImage", "VllmService", "DeepSeekV4Cluster"].map(
  (c) => `dgx-spark-vllm:index:${c}`,
);
const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:remote:Command";

/** Resources the program's components own (not the stack, not a default provider). */
/** The error lines a user reads in a run's output (its error diagnostics). */
const errorLines = (json: string) =>
  eventSteps(json)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => `${d.urn ? `${d.urn.split("::").pop()}: ` : ""}${d.message.trim()}`);
const ours = (s: Step) => s.type !== "pulumi:pulumi:Stack" && !s.name.startsWith("default");
const names = (steps: readonly Step[], pred: (s: Step) => boolean = () => true) =>
  [...new Set(steps.filter(pred).map((s) => s.name))].sort();

describe("pulumi up with the real engine on two simulated Sparks", { skip }, () => {
  let lab: SimLab;
  let engines: SimEngines;
  let cli: PulumiCli;
  let project: Project;
  let work: string;
  let image = "";
  let plan: ClusterPlan;
  let stackConfig: Record<string, any>;
  const secrets: Record<string, string> = {};
  const baseline: Record<string, string> = {};
  let firstUpCommands: string[] = [];
  let firstContainers: Record<string, string> = {};
  const STACK = "rehearsal";
  const stack = ["--stack", STACK, "--non-interactive", "--color", "never"];
  const upArgs = ["up", ...stack, "--yes", "--skip-preview", "--json"];
  /** What a failed run said: its error diagnostics, else the end of its output. */
  const why = (r: { stdout: string; stderr: string }) => {
    const errs = eventSteps(r.stdout)
      .diagnostics.filter((d) => d.severity === "error")
      .map((d) => d.message);
    return errs.length > 0 ? errs.join("\n") : `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`;
  };

  const containerId = (host: string, name: string) => engines.docker(host, `inspect -f '{{.Id}}' ${name}`).trim();
  /** GET on the head's own loopback, from the head (where the readiness gate runs): status and body. */
  const headCurl = (path: string, key?: string) => {
    const r = lab.exec(
      HEAD,
      `curl -s -w '\\n%{http_code}' ${key ? `-H 'Authorization: Bearer ${key}'` : ""} http://127.0.0.1:${plan.cluster.port}${path}`,
    );
    const lines = r.stdout.split("\n");
    return { stdout: (lines.pop() ?? "").trim(), stderr: lines.join("\n") };
  };

  before(async () => {
    if (reason) throw new Error(`engine rehearsal: ${reason}`);
    lab = await SimLab.start(hostSpecs());
    image = ensureStandinImage();
    engines = await SimEngines.start(lab, image);
    work = mkdtempSync(join(tmpdir(), "dsv-engine-"));
    cli = new PulumiCli(engine.dir as string, lab.labNs, work, lab.clientKey);
    project = repoProject(work);
    secrets.sshPrivateKey = lab.clientKey;
    secrets.hfToken = `hf_${randomBytes(17).toString("hex")}`;
    secrets.apiKey = randomBytes(24).toString("hex");
    const full = pointAt(lab, baseConfig());
    full.image = { source: "prebuilt", ref: image };
    full.model = { ...full.model, prefetch: false };
    full.ssh.privateKey = secrets.sshPrivateKey;
    full.model.hfToken = secrets.hfToken;
    full.serving.apiKey = secrets.apiKey;
    plan = rehearsalPlan(full);
    // The stack file holds everything but the secrets, which `pulumi config set --secret` sets.
    stackConfig = structuredClone(full);
    delete stackConfig.ssh.privateKey;
    delete stackConfig.model.hfToken;
    delete stackConfig.serving.apiKey;
    for (const h of [HEAD, WORKER]) baseline[h] = lab.snapshot(h);
    await cli.initStack(project, STACK, stackConfig, secrets);
  });

  after(() => {
    engines?.stop();
    lab?.stop();
    cli?.stop();
    if (image) removeStandinImage(image);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("1. preview of a fresh stack lists every resource of the five components and changes nothing", async () => {
    const r = await cli.must(project, ["preview", ...stack, "--json"]);
    const steps = previewSteps(r.stdout);
    assert.ok(
      steps.every((s) => s.op === "create"),
      `a fresh stack only creates: ${steps.filter((s) => s.op !== "create").map((s) => `${s.op} ${s.name}`)}`,
    );
    for (const t of COMPONENTS)
      assert.ok(
        steps.some((s) => s.type === t),
        `the preview has a ${t}`,
      );
    assert.equal(steps.filter((s) => s.type === "dgx-spark-vllm:index:SparkNode").length, 2, "one SparkNode per node");
    assert.deepEqual(
      names(steps, (s) => s.type === CONTAINER),
      ["dsv4-service-spark-head", "dsv4-service-spark-worker"],
    );
    // Every resource the components register for this config (the same program under Pulumi's
    // mocks, an independent count) is in the preview, and nothing else.
    const { config, warnings } = loadClusterConfig(structuredClone(rehearsalInput()), "deploy");
    new DeepSeekV4Cluster("dsv4", { config, warnings, instance: null }, { transformations: [recordTransformation] });
    const rec = await settle();
    const expected = [...new Set(["dsv4", ...rec.keys()])].sort();
    assert.deepEqual(names(steps, ours), expected, "the preview's resources are the components' resources");
    for (const h of [HEAD, WORKER]) {
      assert.equal(lab.snapshot(h), baseline[h], `${h}: the preview changed nothing on the host`);
      assert.deepEqual(engines.containers(h), [], `${h}: the preview created no container`);
    }
  });

  /** The config the program reads (the stack file plus the secrets), as the mocks get it. */
  function rehearsalInput(): Record<string, any> {
    const c = structuredClone(stackConfig);
    c.ssh.privateKey = secrets.sshPrivateKey;
    c.model.hfToken = secrets.hfToken;
    c.serving.apiKey = secrets.apiKey;
    return c;
  }

  it("2. up brings both hosts up and the engine containers: workers first, readiness passed, sidecars gone, watchdog on", async () => {
    const r = await cli.run(project, [...upArgs, "--logtostderr", "-v=9"], {
      stderrFile: join(work, "up1.engine.log"),
    });
    assert.equal(r.code, 0, `pulumi up failed:\n${why(r)}`);
    const ev = eventSteps(r.stdout);
    firstUpCommands = names(ev.done, (s) => s.type === COMMAND && s.op === "create");
    assert.ok(firstUpCommands.length > 30, `remote commands created: ${firstUpCommands.length}`);
    // The hosts as the host rehearsal leaves them after its bring-up.
    for (const n of plan.nodes) {
      const p = n.dataPlane[0] as (typeof n.dataPlane)[number];
      assert.match(lab.must(n.name, `ip -o -4 addr show dev ${p.netdev}`), new RegExp(` ${p.address}/${p.prefix} `));
      assert.equal(lab.must(n.name, `cat /sys/class/net/${p.netdev}/mtu`).trim(), "9000", `${n.name} MTU`);
      assert.notEqual(lab.rocev2GidIndex(n.name, p.hca, p.address), undefined, `${n.name}: RoCEv2 GID`);
      assert.match(lab.must(n.name, `stat -c %a ${NETPLAN_FILE}; cat ${NETPLAN_FILE}`), /^600\n[\s\S]*mtu: 9000/);
      assert.match(
        lab.must(n.name, `cat ${SYSCTL_FILE}`),
        new RegExp(`vm.min_free_kbytes = ${plan.hardening.minFreeKbytes}`),
      );
      assert.equal(lab.must(n.name, "sysctl -n vm.min_free_kbytes").trim(), String(plan.hardening.minFreeKbytes));
      assert.equal(lab.must(n.name, "swapon --show=NAME --noheadings --raw").trim(), "", `${n.name}: swap off`);
      assert.equal(lab.must(n.name, `systemctl is-enabled ${LINK_UNIT}.service`).trim(), "enabled");
      assert.equal(lab.must(n.name, `systemctl is-active ${MONITOR_UNIT}.timer`).trim(), "active");
    }
    // The ranks: exactly one container per node, running, the worker started before the head.
    const head = plan.nodes.find((n) => n.name === HEAD)!.container.name;
    const worker = plan.nodes.find((n) => n.name === WORKER)!.container.name;
    assert.deepEqual(engines.containers(HEAD), [`${head} running`], "head: the rank only (the sidecar is gone)");
    assert.deepEqual(engines.containers(WORKER), [`${worker} running`], "worker: the rank only (the sidecar is gone)");
    // docker prints nanoseconds; Date.parse takes milliseconds.
    const started = (h: string, c: string) =>
      Date.parse(
        engines
          .docker(h, `inspect -f '{{.State.StartedAt}}' ${c}`)
          .trim()
          .replace(/(\.\d{3})\d*Z$/, "$1Z"),
      );
    assert.ok(started(WORKER, worker) < started(HEAD, head), "the worker's container started before the head's");
    const doneAt = (n: string) => ev.done.findIndex((s) => s.name === n);
    const preAt = (n: string) => ev.pre.findIndex((s) => s.name === n);
    assert.ok(
      doneAt("dsv4-service-spark-worker") < preAt("dsv4-service-spark-head"),
      "the engine created the worker first",
    );
    // The drop-caches sidecar ran on both nodes while the engine loaded, and was removed.
    for (const h of [HEAD, WORKER]) {
      const ran = engines.runcChanges(h).filter((c) => c.args.join(" ").includes("/proc/sys/vm/drop_caches"));
      assert.equal(ran.length, 1, `${h}: the drop-caches sidecar ran once`);
      assert.ok(engines.gpuRequests(h) >= 1, `${h}: the rank asked the engine for the GPUs`);
      // The runtime changed nothing but the two things this machine cannot grant.
      for (const c of engines.runcChanges(h))
        for (const what of c.changes)
          assert.match(what, /^(dropped capabilities this machine lacks: |RLIMIT_NOFILE \d+:\d+ -> \d+:\d+$)/);
    }
    // Readiness passed (the engine's record and the outputs), and the head answers with the key.
    assert.ok(doneAt("dsv4-service-readiness") > doneAt("dsv4-service-spark-head"), "readiness after the head");
    const out = JSON.parse((await cli.must(project, ["stack", "output", ...stack, "--json"])).stdout);
    assert.equal(out.maxModelLen, plan.profile.maxModelLen);
    assert.equal(out.endpoint, plan.cluster.endpoint);
    const models = headCurl("/v1/models", secrets.apiKey);
    assert.equal(models.stdout, "200", `GET /v1/models on the head: ${models.stderr}`);
    assert.match(models.stderr, new RegExp(`"max_model_len":\\s*${plan.profile.maxModelLen}`));
    // The watchdog: installed, enabled and running on the head.
    const unit = plan.names.watchdogUnit;
    assert.equal(lab.must(HEAD, `systemctl is-enabled ${unit}.service`).trim(), "enabled");
    assert.equal(lab.must(HEAD, `systemctl is-active ${unit}.service`).trim(), "active");
    firstContainers = { [HEAD]: containerId(HEAD, head), [WORKER]: containerId(WORKER, worker) };
  });

  it("3. a second up --expect-no-changes succeeds and replaces nothing", async () => {
    const r = await cli.run(project, [...upArgs.filter((a) => a !== "--skip-preview"), "--expect-no-changes"]);
    assert.equal(r.code, 0, `pulumi up --expect-no-changes failed:\n${why(r)}`);
    const changed = eventSteps(r.stdout).done.filter((s) => s.op !== "same");
    assert.deepEqual(changed, [], "every resource unchanged");
    for (const [h, id] of Object.entries(firstContainers))
      assert.equal(containerId(h, plan.nodes.find((n) => n.name === h)!.container.name), id, `${h}: same container`);
  });

  /** Every secret as it could leak: plain, base64, and each line of the key's body. */
  function needles(): [string, string][] {
    const out: [string, string][] = [];
    for (const [k, v] of Object.entries(secrets))
      out.push([k, v], [`${k} in base64`, Buffer.from(v).toString("base64")]);
    (secrets.sshPrivateKey as string)
      .split("\n")
      .filter((l) => l.length >= 16 && !l.startsWith("-----"))
      .forEach((l, i) => out.push([`line ${i + 2} of sshPrivateKey`, l]));
    return out;
  }
  /** Where each secret shows in `text`: what it is and the start of its line, every secret there redacted. */
  function leaks(where: string, text: string): string[] {
    const found: string[] = [];
    for (const [what, needle] of needles()) {
      const at = text.indexOf(needle);
      if (at < 0) continue;
      const line = text.slice(text.lastIndexOf("\n", at) + 1, at).slice(-160);
      const redacted = needles().reduce((l, [, n]) => l.split(n).join("<secret>"), line);
      found.push(`${what} in ${where}, after: ${redacted}`);
    }
    return found;
  }

  it("5. the secrets reach the hosts and the engine, and are in no export, stack file or container config", async () => {
    // They reached: the head's root-only secrets file holds both values, and the API wants the key.
    const head = plan.nodes.find((n) => n.name === HEAD)!;
    const file = lab.must(HEAD, `cat ${head.container.secretsFile!.hostDir}/${head.container.secretsFile!.fileName}`);
    assert.ok(file.includes(secrets.apiKey as string) && file.includes(secrets.hfToken as string));
    assert.equal(headCurl("/v1/models").stdout, "401", "without the key the engine refuses");
    assert.equal(headCurl("/v1/models", secrets.apiKey).stdout, "200", "with the key it answers");
    // (The SSH key is how every remote command and the docker provider got in.)
    const exported = (await cli.must(project, ["stack", "export", ...stack.slice(0, 2)])).stdout;
    assert.match(exported, /"ciphertext"/, "the export holds the secrets encrypted");
    const found = [
      ...leaks("pulumi stack export", exported),
      ...leaks("the stack file", cli.stackFile(project, STACK)),
      ...[HEAD, WORKER].flatMap((h) => leaks(`docker inspect on ${h}`, engines.inspectAll(h))),
    ];
    assert.deepEqual(found, [], "no secret, plain or base64, and no line of the key");
  });

  it("5. ... nor in the engine's own log (--logtostderr -v=9)", {
    todo:
      "upstream: at -v=9 the Pulumi CLI v3.259.0 logs every secret input in plain text, at INFO: " +
      "`Unmarshaling property for RPC[ResourceMonitor.RegisterResource(<type>,<name>)]: <key>={<value>}` " +
      "(Pulumi's logging docs say that at level 10 or below it avoids exposing known credentials; " +
      "upstream's work on redacting secret property values in logs: pulumi/pulumi#22420, #24477). " +
      "Our program registers them only as secrets; a -v=9 log must not be shared.",
  }, () => {
    const log = readFileSync(join(work, "up1.engine.log"), "utf8");
    assert.ok(log.length > 100_000, "the engine logged at -v=9");
    assert.deepEqual(leaks("the engine's log", log), []);
  });

  it("4. a host knob changes only its steps; a serving knob replaces the containers through the watchdog hold", async () => {
    // Host knob: vm.min_free_kbytes.
    const minFree = 2097152;
    await cli.must(project, [
      "config",
      "set",
      ...stack.slice(0, 2),
      "--path",
      "hardening.minFreeKbytes",
      String(minFree),
    ]);
    const preview = previewSteps((await cli.must(project, ["preview", ...stack, "--json"])).stdout);
    const hostChanged = names(preview, (s) => s.op !== "same" && ours(s));
    // The value is set by each node's min-free-kbytes step and re-asserted at boot by its link unit.
    assert.deepEqual(hostChanged, [
      "dsv4-link-spark-head-link-boot",
      "dsv4-link-spark-worker-link-boot",
      "dsv4-spark-head-min-free-kbytes",
      "dsv4-spark-worker-min-free-kbytes",
    ]);
    let r = await cli.run(project, upArgs);
    assert.equal(r.code, 0, why(r));
    assert.deepEqual(
      names(eventSteps(r.stdout).done, (s) => s.op !== "same" && ours(s)),
      hostChanged,
      "the up did what the preview said",
    );
    for (const h of [HEAD, WORKER]) {
      assert.equal(lab.must(h, "sysctl -n vm.min_free_kbytes").trim(), String(minFree), `${h}: the new value`);
      const c = plan.nodes.find((n) => n.name === h)!.container.name;
      assert.equal(containerId(h, c), firstContainers[h], `${h}: the container was not touched`);
    }
    // Serving knob: the profile's maxNumSeqs (6 in 1m; `serving.profile: {base: 1m, maxNumSeqs: 4}`) needs new containers.
    const st = stack.slice(0, 2);
    await cli.must(project, ["config", "rm", ...st, "--path", "serving.profile"]);
    await cli.must(project, ["config", "set", ...st, "--path", "serving.profile.base", "1m"]);
    await cli.must(project, ["config", "set", ...st, "--path", "serving.profile.maxNumSeqs", "4"]);
    const p2 = previewSteps((await cli.must(project, ["preview", ...stack, "--json"])).stdout);
    const replaced = names(p2, (s) => s.op === "replace" || s.op === "create-replacement");
    for (const n of ["dsv4-service-spark-head", "dsv4-service-spark-worker", "dsv4-service-watchdog-hold"])
      assert.ok(replaced.includes(n), `the preview replaces ${n} (replaced: ${replaced.join(", ")})`);
    assert.ok(
      names(p2, (s) => s.op !== "same" && s.type === COMMAND).every((n) => n.startsWith("dsv4-service-")),
      "no host step changes",
    );
    const head = plan.nodes.find((n) => n.name === HEAD)!.container.name;
    const worker = plan.nodes.find((n) => n.name === WORKER)!.container.name;
    const running = cli.run(project, upArgs);
    // The stand-in loads in a second: the new head answers within a minute or so of the update,
    // unless the new ranks cannot meet (readiness would then wait out its 30 minutes).
    const newHeadAnswers = () => {
      const id = lab.exec(HEAD, `docker inspect -f '{{.Id}}' ${head}`).stdout.trim();
      return id !== "" && id !== firstContainers[HEAD] && headCurl("/v1/models", secrets.apiKey).stdout === "200";
    };
    const t0 = Date.now();
    while (!newHeadAnswers() && Date.now() - t0 < 120_000) await new Promise((res) => setTimeout(res, 2000));
    let stuck: string | undefined;
    if (!newHeadAnswers()) {
      stuck = lab.exec(WORKER, `docker logs --tail 3 ${worker} 2>&1`).stdout.trim();
      // Let the update finish (and the later items run): a restarted worker joins the new head,
      // what the watchdog would do if it were not held.
      engines.docker(WORKER, `restart ${worker}`);
    }
    r = await running;
    assert.equal(r.code, 0, why(r));
    const ev = eventSteps(r.stdout);
    const at = (list: Step[], n: string) => list.findIndex((s) => s.name === n);
    assert.ok(at(ev.done, "dsv4-service-watchdog-hold") >= 0, "the watchdog hold ran");
    for (const c of ["dsv4-service-spark-head", "dsv4-service-spark-worker"]) {
      assert.ok(
        ev.pre.some((s) => s.name === c && s.op !== "same"),
        `${c} was replaced`,
      );
      assert.ok(at(ev.done, "dsv4-service-watchdog-hold") < at(ev.pre, c), `${c} replaced after the hold`);
    }
    assert.ok(
      at(ev.done, "dsv4-service-watchdog-unhold") > at(ev.done, "dsv4-service-readiness"),
      "unhold after readiness",
    );
    for (const h of [HEAD, WORKER]) {
      const c = plan.nodes.find((n) => n.name === h)!.container.name;
      assert.notEqual(containerId(h, c), firstContainers[h], `${h}: a new container`);
      assert.match(engines.docker(h, `inspect -f '{{json .Args}}' ${c}`), /"--max-num-seqs","4"/);
      assert.deepEqual(engines.containers(h), [`${c} running`]);
    }
    assert.equal(headCurl("/v1/models", secrets.apiKey).stdout, "200", "readiness passed again and the head answers");
    assert.equal(lab.must(HEAD, `systemctl is-active ${plan.names.watchdogUnit}.service`).trim(), "active");
    assert.equal(
      stuck,
      undefined,
      "the new ranks met on their own: the engine replaced the worker (delete, create) before the head, the new " +
        "worker joined the old head's rendezvous and lost it when the head was replaced; the test restarted the " +
        `worker to let the update finish. Worker log: ${stuck}`,
    );
  });

  it("6. destroy removes every container and restores both hosts to their snapshot", async () => {
    const r = await cli.run(project, ["destroy", ...stack, "--yes", "--skip-preview"]);
    assert.equal(r.code, 0, why(r));
    for (const h of [HEAD, WORKER]) {
      assert.deepEqual(engines.containers(h), [], `${h}: no container left`);
      assert.equal(lab.snapshot(h), baseline[h], `${h} is back to how it was before the first up`);
    }
  });

  it("7. the worker unreachable mid-up: a clear failure naming it; the next up finishes without redoing anything", async () => {
    // The worker's management address is unroutable from where the engine runs (ssh and the docker provider).
    const route = ["-n", lab.labNs, "route", "add", "unreachable", `${lab.host(WORKER).mgmt}/32`];
    const ipr = (args: string[]) => {
      const x = spawnSync("ip", args, { encoding: "utf8" });
      assert.equal(x.status, 0, x.stderr);
    };
    ipr(route);
    let fixed = false;
    try {
      const r1 = await cli.run(project, upArgs);
      assert.notEqual(r1.code, 0, "the up fails");
      const errors = errorLines(r1.stdout);
      assert.ok(
        errors.some((l) => l.includes(WORKER) && /unreachable|no route/i.test(l)),
        `an error line names ${WORKER} and says it is unreachable:\n${errors.join("\n")}`,
      );
      const ev1 = eventSteps(r1.stdout);
      assert.ok(ev1.failed.length > 0 && ev1.failed.every((s) => s.name.includes(WORKER)), "only worker steps failed");
      const ran1 = names(ev1.done, (s) => s.type === COMMAND && s.op === "create");
      assert.ok(
        ran1.some((n) => n.startsWith(`dsv4-${HEAD}-`)),
        "the head's own steps went ahead",
      );
      assert.deepEqual(engines.containers(HEAD), [], "no container before the worker is ready");
      ipr(["-n", lab.labNs, "route", "del", "unreachable", `${lab.host(WORKER).mgmt}/32`]);
      fixed = true;
      const r2 = await cli.run(project, upArgs);
      assert.equal(r2.code, 0, why(r2));
      const ran2 = names(eventSteps(r2.stdout).done, (s) => s.type === COMMAND && s.op === "create");
      assert.deepEqual(
        ran2.filter((n) => ran1.includes(n)),
        [],
        "no remote command that succeeded in the failed up ran again",
      );
      assert.deepEqual([...ran1, ...ran2].sort(), firstUpCommands, "together they ran each command of a full up once");
      console.log(
        `# fault: the failed up ran ${ran1.length} remote commands, the next ${ran2.length} (a full up: ${firstUpCommands.length})`,
      );
      assert.equal(headCurl("/v1/models", secrets.apiKey).stdout, "200");
      const d = await cli.run(project, ["destroy", ...stack, "--yes", "--skip-preview"]);
      assert.equal(d.code, 0, why(d));
      for (const h of [HEAD, WORKER]) assert.equal(lab.snapshot(h), baseline[h], `${h} back to its snapshot`);
    } finally {
      if (!fixed) ipr(["-n", lab.labNs, "route", "del", "unreachable", `${lab.host(WORKER).mgmt}/32`]);
    }
  });

  it("8. two stacks of one program with distinct instances come up and destroy independently", async () => {
    const prog = testProject(work, "instances", "dist/test/engine/program.js");
    const ports: Record<string, { port: number; masterPort: number }> = {
      blue: { port: 8000, masterPort: 29501 },
      green: { port: 8001, masterPort: 29511 },
    };
    for (const [s, p] of Object.entries(ports)) {
      const c = structuredClone(stackConfig);
      c.serving = { ...c.serving, port: p.port };
      c.link = { ...(c.link ?? {}), masterPort: p.masterPort };
      await cli.initStack(prog, s, c, secrets);
    }
    const st = (s: string) => ["--stack", s, "--non-interactive", "--color", "never"];
    const ups = await Promise.all(
      Object.keys(ports).map((s) => cli.run(prog, ["up", ...st(s), "--yes", "--skip-preview"])),
    );
    ups.forEach((r, i) => assert.equal(r.code, 0, `up of ${Object.keys(ports)[i]}:\n${why(r)}`));
    const cname = (s: string, node: string) => `dgx-spark-vllm-${s}-${node}`;
    for (const h of [HEAD, WORKER])
      assert.deepEqual(engines.containers(h), [`${cname("blue", h)} running`, `${cname("green", h)} running`]);
    const serves = (port: number) =>
      lab.exec(
        HEAD,
        `curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer ${secrets.apiKey}' http://127.0.0.1:${port}/v1/models`,
      ).stdout;
    assert.equal(serves(8000), "200");
    assert.equal(serves(8001), "200");
    const d1 = await cli.run(prog, ["destroy", ...st("blue"), "--yes", "--skip-preview"]);
    assert.equal(d1.code, 0, why(d1));
    for (const h of [HEAD, WORKER]) assert.deepEqual(engines.containers(h), [`${cname("green", h)} running`]);
    assert.equal(serves(8001), "200", "green still serves after blue's destroy");
    for (const n of plan.nodes) {
      const p = n.dataPlane[0]!;
      assert.equal(
        lab.must(n.name, `cat /sys/class/net/${p.netdev}/mtu`).trim(),
        "9000",
        `${n.name}: green's link kept`,
      );
    }
    const g = await cli.run(prog, ["up", ...st("green"), "--yes", "--expect-no-changes"]);
    assert.equal(g.code, 0, `green unchanged by blue's destroy:\n${g.stdout.slice(-4000)}`);
    const d2 = await cli.run(prog, ["destroy", ...st("green"), "--yes", "--skip-preview"]);
    assert.equal(d2.code, 0, why(d2));
    for (const h of [HEAD, WORKER]) {
      assert.deepEqual(engines.containers(h), []);
      assert.equal(lab.snapshot(h), baseline[h], `${h} back to its snapshot after both destroys`);
    }
  });
});
