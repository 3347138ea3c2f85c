/**
 * `doctor` against the simulated Sparks: a healthy cluster (brought up by the components' own
 * commands) reports all PASS; each injected fault is the right FAIL with the right fix; and
 * nothing on the hosts changes while doctor reads them.
 */
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { runDoctorCli } from "../../src/cli/doctor";
import { runDoctor, type DoctorReport } from "../../src/doctor/run";
import type { ClusterPlan } from "../../src/plan/types";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, seedVerifiedWeights, WORKER } from "./cluster";
import { labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, up } from "./runner";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;
const NETDEV = "enp1s0f1np1";
const IMAGE_ID = `sha256:${"ab12".repeat(16)}`;
const NODE_BIN = process.execPath;

describe("doctor on simulated Sparks", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;
  let config: Record<string, any>;
  let ssh: { sshCommand: string[]; extraOptions: string[] };

  /** Doctor as the library runs it, with the stack's key; asserts the hosts did not change. */
  async function doctor(opts: { apiKey?: string; rdma?: boolean; plan?: ClusterPlan } = {}): Promise<DoctorReport> {
    const before = [HEAD, WORKER].map((h) => lab.snapshot(h));
    const { plan: p = plan, ...rest } = opts;
    const report = await runDoctor(p, "rehearsal", {
      ...ssh,
      privateKeys: { [HEAD]: lab.clientKey, [WORKER]: lab.clientKey },
      ...rest,
    });
    const afterSnap = [HEAD, WORKER].map((h) => lab.snapshot(h));
    assert.deepEqual(afterSnap, before, "doctor changed nothing on the hosts");
    return report;
  }
  const find = (r: DoctorReport, id: string, node: string) => {
    const c = r.checks.find((x) => x.id === id && x.node === node);
    assert.ok(c, `check ${id} on ${node} (have: ${r.checks.map((x) => `${x.node}:${x.id}`).join(", ")})`);
    return c;
  };
  const failures = (r: DoctorReport) =>
    r.checks.filter((c) => c.status !== "PASS").map((c) => `${c.status} ${c.node}:${c.id}: ${c.evidence}`);

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    config = rehearsalConfig(lab);
    plan = rehearsalPlan(config);
    const out = await up(lab, await captureSteps(plan, "doc", lab.clientKey));
    assert.equal(out.failed, undefined, why(out.failed));
    // What a finished deploy leaves: the same image and the same weights on both nodes.
    const tagFile = plan.image.tag.replace(/[/:]/g, "_");
    for (const h of [HEAD, WORKER]) lab.must(h, `echo ${IMAGE_ID} > /var/lib/dsv-sim/docker/images/${tagFile}`);
    seedVerifiedWeights(lab, plan);
    ssh = { sshCommand: ["ip", "netns", "exec", lab.labNs, "ssh"], extraOptions: ["-F", "/dev/null"] };
  });
  after(() => lab?.stop());

  it("a healthy cluster reports every check PASS (exit 0)", async () => {
    const r = await doctor();
    assert.deepEqual(failures(r), []);
    assert.equal(r.exitCode, 0);
    assert.ok(r.checks.length >= 30, `${r.checks.length} checks`);
    assert.match(find(r, "gid.0", HEAD).evidence, /^GID index \d+$/);
    assert.match(find(r, "df-ping.0.spark-worker", HEAD).evidence, /8972-byte DF ping answered/);
    assert.match(find(r, "peer-ssh.spark-worker.p0", HEAD).evidence, /passwordless/);
  });

  it("exposure: Prometheus's port open on every interface fails (wider than the table, and the worker reaches it); on loopback it passes; a stray listener warns", async () => {
    const obsConfig = {
      ...config,
      observability: { enabled: true, grafana: { adminPassword: "rehearsal-grafana-pw" } },
    };
    const obsPlan = rehearsalPlan(obsConfig);
    const port = (obsPlan.observability as { prometheus: { port: number } }).prometheus.port;
    const procs: ChildProcess[] = [];
    // A real listener inside the head's namespaces, in Prometheus's place.
    const listen = (host: string, bind: string, p: number) => {
      const child = lab.spawn(host, ["python3", "-m", "http.server", "--bind", bind, String(p)]);
      procs.push(child);
      return child;
    };
    const until = async (script: string) => {
      for (let i = 0; i < 50 && lab.exec(HEAD, script).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      let p = listen(HEAD, "0.0.0.0", port);
      await until(`ss -ltnH 'sport = :${port}' | grep -q .`);
      let r = await doctor({ plan: obsPlan });
      let c = find(r, "exposure", HEAD);
      assert.equal(c.status, "FAIL", c.evidence);
      assert.match(
        c.evidence,
        new RegExp(`tcp 0\\.0\\.0\\.0:${port} .*is wider than the plan's 127\\.0\\.0\\.1 \\(Prometheus\\)`),
      );
      assert.match(
        c.evidence,
        new RegExp(`port ${port} at ${lab.host(HEAD).mgmt.replace(/\./g, "\\.")} answers ${WORKER}`),
      );
      assert.match(c.fix ?? "", /pulumi up/);
      assert.equal(find(r, "exposure", WORKER).status, "PASS", find(r, "exposure", WORKER).evidence);

      p.kill();
      p = listen(HEAD, "127.0.0.1", port);
      await until(`ss -ltnH 'sport = :${port}' | grep -q 127.0.0.1`);
      r = await doctor({ plan: obsPlan });
      c = find(r, "exposure", HEAD);
      assert.equal(c.status, "PASS", c.evidence);
      assert.match(c.evidence, new RegExp(`${port}, \\d+ refused to the peers`));

      listen(HEAD, "0.0.0.0", 6380);
      await until("ss -ltnH 'sport = :6380' | grep -q .");
      c = find(await doctor({ plan: obsPlan }), "exposure", HEAD);
      assert.equal(c.status, "WARN", c.evidence);
      assert.match(c.evidence, /not opened by this deployment: tcp 0\.0\.0\.0:6380 \(python3\)/);
    } finally {
      for (const x of procs) x.kill();
    }
  });

  it("docker hung on the worker: doctor answers in < 20 s; only the docker checks say not answering", async (t) => {
    const healthy = await doctor();
    assert.deepEqual(failures(healthy), []);
    lab.must(WORKER, "touch /var/lib/dsv-sim/docker/hung");
    try {
      const t0 = Date.now();
      const r = await doctor();
      const took = (Date.now() - t0) / 1000;
      t.diagnostic(`doctor with docker hung on ${WORKER} answered in ${took.toFixed(1)} s`);
      assert.ok(took < 20, `doctor answered in ${took.toFixed(1)} s`);
      // The checks that need the worker's docker: "not answering", with a fix for that.
      const dockerChecks = [`${WORKER}:docker`, "cluster:image", "cluster:ranks"];
      for (const k of dockerChecks) {
        const [node, id] = k.split(":") as [string, string];
        const c = find(r, id, node);
        assert.equal(c.status, "FAIL", `${k}: ${c.evidence}`);
        assert.match(c.evidence, /docker did not answer within \d+ s/, k);
        assert.match(c.fix ?? "", /systemctl restart docker/, k);
      }
      // Every other check (netdev, address, MTU, ping, GID, persist, hardening, disk, memory, ...)
      // as on the healthy cluster: the same checks, the same verdicts.
      const verdicts = (x: DoctorReport) =>
        x.checks.filter((c) => !dockerChecks.includes(`${c.node}:${c.id}`)).map((c) => `${c.node}:${c.id} ${c.status}`);
      assert.deepEqual(verdicts(r), verdicts(healthy), failures(r).join("\n"));
      assert.equal(r.exitCode, 2);
    } finally {
      lab.must(WORKER, "rm -f /var/lib/dsv-sim/docker/hung");
    }
  });

  /** Run a report's fix line on a node as the login user would (the part before ", or"). */
  async function applyFix(node: string, fix: string): Promise<void> {
    const cmd = (fix.split(" (re-applies")[0] as string).trim();
    assert.match(cmd, /^sudo systemctl restart dgx-spark-vllm-link\.service$/);
    const h = lab.host(node);
    const r = await lab.ssh(
      { host: h.mgmt, user: "spark", privateKey: lab.clientKey, hostKey: h.hostKey },
      `${cmd.replace(/^sudo /, "sudo -n ")}`,
    );
    assert.equal(r.code, 0, `${r.stderr}\n${lab.journal(node)}`);
  }

  it("GID missing (post-reboot quirk): FAIL gid; the fix it gives brings it back", async () => {
    lab.must(WORKER, "echo 10.0.0.2 > /var/lib/dsv-sim/gid-suppressed; sleep 0.8");
    try {
      const r = await doctor();
      const c = find(r, "gid.0", WORKER);
      assert.equal(c.status, "FAIL");
      assert.equal(find(r, "gid.0", HEAD).status, "PASS");
      assert.equal(r.exitCode, 2);
      await applyFix(WORKER, c.fix ?? "");
      assert.equal(find(await doctor(), "gid.0", WORKER).status, "PASS");
    } finally {
      lab.must(WORKER, ": > /var/lib/dsv-sim/gid-suppressed; sleep 0.8");
    }
  });

  it("pinned GID index 3, the RoCEv2 entry moved to 5 (post-reboot drift): FAIL gid naming index 5", async () => {
    const pinned = rehearsalPlan({ ...structuredClone(config), link: { ...config.link, gidPolicy: { index: 3 } } });
    const hca = pinned.nodes[1]!.dataPlane[0]!.hca;
    let r = await doctor({ plan: pinned });
    const healthy = [HEAD, WORKER].map((h) => find(r, "gid.0", h));
    assert.deepEqual(
      healthy.map((c) => c.status),
      ["PASS", "PASS"],
      healthy.map((c) => c.evidence).join("; "),
    );
    // The worker's table gets another GID pair first: its RoCEv2 entry for 10.0.0.2 is now at 5.
    lab.must(WORKER, "echo 1 > /var/lib/dsv-sim/gid-shift; sleep 0.8");
    try {
      assert.equal(lab.rocev2GidIndex(WORKER, hca, "10.0.0.2"), 5, "the simulated table moved the entry");
      r = await doctor({ plan: pinned });
      const c = find(r, "gid.0", WORKER);
      assert.equal(c.status, "FAIL", c.evidence);
      assert.match(c.evidence, /^GID index 3 holds '[0-9a-f:]+' \(RoCE v2\); /);
      assert.match(c.evidence, /; the RoCEv2 GID of 10\.0\.0\.2 is at index 5$/);
      assert.match(c.fix ?? "", /link\.gidPolicy to 'resolve'.*\{ index: 5 \}/);
      assert.equal(find(r, "gid.0", HEAD).status, "PASS");
      assert.equal(r.exitCode, 2);
      for (const [h, last] of [
        [healthy[0]!, "0001"],
        [healthy[1]!, "0002"],
      ] as const) {
        assert.equal(h.evidence, `GID index 3: 0000:0000:0000:0000:0000:ffff:0a00:${last} (RoCE v2)`);
      }
      // Without a pin the moved entry is fine: NCCL (auto) or the resolver finds index 5.
      const auto = await doctor();
      assert.equal(find(auto, "gid.0", WORKER).evidence, "GID index 5");
      assert.equal(find(auto, "gid.0", WORKER).status, "PASS");
    } finally {
      lab.must(WORKER, "rm -f /var/lib/dsv-sim/gid-shift; sleep 0.8");
    }
  });

  it("MTU 1500 on one end: FAIL mtu on that node and the DF ping both ways; the fix restores it", async () => {
    lab.must(WORKER, `ip link set dev ${NETDEV} mtu 1500`);
    try {
      const r = await doctor();
      assert.equal(find(r, "mtu.0", WORKER).status, "FAIL");
      assert.match(find(r, "mtu.0", WORKER).evidence, /mtu 1500/);
      assert.match(find(r, "mtu.0", WORKER).fix ?? "", /ip link set dev enp1s0f1np1 mtu 9000/);
      assert.equal(find(r, "mtu.0", HEAD).status, "PASS");
      assert.equal(find(r, "df-ping.0.spark-worker", HEAD).status, "FAIL");
      assert.equal(find(r, "df-ping.0.spark-head", WORKER).status, "FAIL");
      await applyFix(WORKER, find(r, "mtu.0", WORKER).fix ?? "");
      const again = await doctor();
      assert.deepEqual(failures(again), []);
    } finally {
      lab.must(WORKER, `ip link set dev ${NETDEV} mtu 9000`);
    }
  });

  it("different image IDs: FAIL image with the re-copy fix", async () => {
    const f = `/var/lib/dsv-sim/docker/images/${plan.image.tag.replace(/[/:]/g, "_")}`;
    lab.must(WORKER, `echo sha256:${"cd34".repeat(16)} > ${f}`);
    try {
      const r = await doctor();
      const c = find(r, "image", "cluster");
      assert.equal(c.status, "FAIL");
      assert.match(c.evidence, /spark-head sha256:ab12.*spark-worker sha256:cd34/);
      assert.match(c.fix ?? "", /pulumi up re-copies it from spark-head/);
    } finally {
      lab.must(WORKER, `echo ${IMAGE_ID} > ${f}`);
    }
  });

  it("a stale worker rank running alone: FAIL ranks naming the container to remove", async () => {
    const name = plan.nodes.find((n) => n.name === WORKER)!.container.name;
    lab.must(WORKER, `echo running > /var/lib/dsv-sim/docker/containers/${name}`);
    try {
      const r = await doctor();
      const c = find(r, "ranks", "cluster");
      assert.equal(c.status, "FAIL");
      assert.match(c.evidence, /spark-head absent, spark-worker running/);
      assert.match(c.fix ?? "", new RegExp(`on spark-worker: docker rm -f ${name}`));
    } finally {
      lab.must(WORKER, `rm -f /var/lib/dsv-sim/docker/containers/${name}`);
    }
  });

  it("low memory before start: FAIL memory with the amount needed", async () => {
    // Written in place: /proc/meminfo is a bind mount of this very file.
    lab.must(
      HEAD,
      "cp /var/lib/dsv-sim/meminfo /root/meminfo.ok; sed 's/^MemAvailable:.*/MemAvailable:    20971520 kB/' /root/meminfo.ok > /var/lib/dsv-sim/meminfo",
    );
    try {
      const r = await doctor();
      const c = find(r, "memory", HEAD);
      assert.equal(c.status, "FAIL");
      assert.match(c.title, /the engine needs \d+\.\d GiB/);
      assert.match(c.evidence, /MemAvailable 20\.0 GiB/);
      assert.equal(find(r, "memory", WORKER).status, "PASS");
    } finally {
      lab.must(HEAD, "cat /root/meminfo.ok > /var/lib/dsv-sim/meminfo; rm /root/meminfo.ok");
    }
  });

  it("swap on: FAIL swap with swapoff as the fix", async () => {
    lab.must(WORKER, "swapon /swapfile");
    try {
      const r = await doctor();
      const c = find(r, "swap", WORKER);
      assert.equal(c.status, "FAIL");
      assert.match(c.evidence, /\/swapfile/);
      assert.match(c.fix ?? "", /sudo swapoff -a/);
    } finally {
      lab.must(WORKER, "swapoff /swapfile");
    }
  });

  it("DGX OS kernel 7.0.0-1019-nvidia on the worker: FAIL kernel with the fix and the source", async () => {
    assert.equal(find(await doctor(), "kernel", WORKER).status, "PASS", "the stand-in boots 6.17.0-1032-nvidia");
    lab.must(WORKER, "echo 7.0.0-1019-nvidia > /var/lib/dsv-sim/kernel-release");
    try {
      const r = await doctor();
      const c = find(r, "kernel", WORKER);
      assert.equal(c.status, "FAIL");
      assert.match(c.evidence, /kernel 7\.0\.0-1019-nvidia: NCCL over RoCE fails.*issue #392/);
      assert.match(c.fix ?? "", /6\.17\.0-1032-nvidia/);
      assert.equal(find(r, "kernel", HEAD).status, "PASS");
      assert.notEqual(r.exitCode, 0);
    } finally {
      lab.must(WORKER, "echo 6.17.0-1032-nvidia > /var/lib/dsv-sim/kernel-release");
    }
  });

  it("the engine running: /health and max_model_len are checked; the wrong profile is a FAIL", async () => {
    const names = plan.nodes.map((n) => n.container.name);
    for (const [i, h] of [HEAD, WORKER].entries())
      lab.must(h, `echo running > /var/lib/dsv-sim/docker/containers/${names[i]}`);
    const server = path.join(lab.root, "engine.js");
    fs.writeFileSync(
      server,
      `require("http").createServer((q, s) => { if (q.url === "/health") { s.end(); return; } if (q.headers.authorization !== "Bearer k-" + "rehearsal") { s.statusCode = 401; s.end(); return; } s.setHeader("content-type", "application/json"); s.end(JSON.stringify({ data: [{ id: ${JSON.stringify(plan.model.servedName)}, max_model_len: Number(process.argv[2]) }] })); }).listen(${plan.cluster.port}, "127.0.0.1");`,
    );
    const serve = (len: number) =>
      spawn("nsenter", ["-t", String(lab.host(HEAD).pid), "-n", "--", NODE_BIN, server, String(len)], {
        stdio: "ignore",
      });
    let p = serve(plan.profile.maxModelLen);
    try {
      await new Promise((r) => setTimeout(r, 500));
      let r = await doctor({ apiKey: "k-rehearsal" });
      assert.deepEqual(
        failures(r).filter((f) => !/memory/.test(f)),
        [],
      );
      assert.equal(find(r, "health", HEAD).status, "PASS");
      assert.equal(find(r, "max-model-len", HEAD).status, "PASS");
      assert.match(find(r, "port", HEAD).evidence, /held by dgx-spark-vllm/);
      p.kill();
      await new Promise((res) => p.once("exit", res));
      p = serve(524288);
      await new Promise((res) => setTimeout(res, 500));
      r = await doctor({ apiKey: "k-rehearsal" });
      const c = find(r, "max-model-len", HEAD);
      assert.equal(c.status, "FAIL");
      assert.match(c.evidence, /max_model_len 524288/);
      // A process holds the port while our engine does not run: FAIL port.
      for (const [i, h] of [HEAD, WORKER].entries())
        lab.must(h, `rm -f /var/lib/dsv-sim/docker/containers/${names[i]}`);
      r = await doctor();
      assert.equal(find(r, "port", HEAD).status, "FAIL");
      assert.match(find(r, "port", HEAD).fix ?? "", /ss -ltnp/);
    } finally {
      p.kill();
      for (const [i, h] of [HEAD, WORKER].entries())
        lab.must(h, `rm -f /var/lib/dsv-sim/docker/containers/${names[i]}`);
    }
  });

  it("the API key reaches /v1/models on a pipe: no file on the head holds it, during or after", async () => {
    const names = plan.nodes.map((n) => n.container.name);
    for (const [i, h] of [HEAD, WORKER].entries())
      lab.must(h, `echo running > /var/lib/dsv-sim/docker/containers/${names[i]}`);
    const key = `k-pipe-${Math.random().toString(36).slice(2, 12)}`;
    const mark = path.join(lab.root, "models-request");
    const release = path.join(lab.root, "models-release");
    const server = path.join(lab.root, "slow-engine.js");
    // /v1/models answers only once the test has looked at the head while doctor's curl waits; it
    // records a hash of the Authorization header it got (the key itself goes in no file).
    fs.writeFileSync(
      server,
      [
        `const mark = ${JSON.stringify(mark)}, release = ${JSON.stringify(release)};`,
        "const sha = (s) => require('crypto').createHash('sha256').update(String(s)).digest('hex');",
        "require('http').createServer((q, s) => {",
        "  if (q.url === '/health') { s.end(); return; }",
        "  require('fs').writeFileSync(mark, sha(q.headers.authorization));",
        `  const body = JSON.stringify({ data: [{ id: ${JSON.stringify(plan.model.servedName)}, max_model_len: ${plan.profile.maxModelLen} }] });`,
        "  const t = setInterval(() => {",
        "    if (!require('fs').existsSync(release)) return;",
        "    clearInterval(t); s.setHeader('content-type', 'application/json'); s.end(body);",
        "  }, 50);",
        `}).listen(${plan.cluster.port}, '127.0.0.1');`,
      ].join("\n"),
    );
    await new Promise((r) => setTimeout(r, 500)); // an earlier test's engine lets go of the port
    const p = spawn("nsenter", ["-t", String(lab.host(HEAD).pid), "-n", "--", NODE_BIN, server], { stdio: "ignore" });
    // Every file on the head written in the last minutes that holds the key (the host's own view:
    // /tmp, /var/tmp, /dev/shm, /run and its overlays of /home, /root, /var, /etc).
    const holders = () =>
      lab
        .must(
          HEAD,
          "find /tmp /var/tmp /dev/shm /run /home /root /var /etc -xdev \\( -path /var/lib/docker -o -path /var/lib/containerd \\) -prune " +
            `-o -type f -mmin -10 -size -1024k -print0 2>/dev/null | xargs -0 -r grep -l -F -e ${key} 2>/dev/null || true`,
        )
        .trim();
    try {
      const health = `curl -s -o /dev/null -w '%{http_code}' -m 1 http://127.0.0.1:${plan.cluster.port}/health || true`;
      for (let i = 0; lab.must(HEAD, health) !== "200"; i++) {
        assert.ok(i < 50 && p.exitCode === null, "the slow engine listens");
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(p.exitCode, null, "the slow engine (not an earlier one) holds the port");
      // The scan finds such a file: one planted the way a temporary header file would be.
      const plant = `sudo -u spark sh -c 'f=$(mktemp); echo "Authorization: Bearer ${key}" > "$f"; echo "$f"'`;
      const canary = lab.must(HEAD, plant).trim();
      assert.equal(holders(), canary);
      lab.must(HEAD, `rm -f ${canary}`);
      const run = doctor({ apiKey: key });
      const t0 = Date.now();
      while (!fs.existsSync(mark)) {
        assert.ok(Date.now() - t0 < 30_000, "doctor asked /v1/models on the head");
        await new Promise((r) => setTimeout(r, 100));
      }
      const during = holders();
      fs.writeFileSync(release, "");
      const r = await run;
      const sent = createHash("sha256").update(`Bearer ${key}`).digest("hex");
      assert.equal(fs.readFileSync(mark, "utf8"), sent, "the key was sent");
      assert.equal(find(r, "max-model-len", HEAD).status, "PASS");
      assert.equal(during, "", "no file holds the key while the request runs");
      assert.equal(holders(), "", "no file holds the key after doctor");
    } finally {
      p.kill();
      for (const [i, h] of [HEAD, WORKER].entries())
        lab.must(h, `rm -f /var/lib/dsv-sim/docker/containers/${names[i]}`);
    }
  });

  it("SSH failures are classified: wrong host key and no route", async () => {
    const bad = structuredClone(config);
    bad.nodes[0].ssh.hostKey = lab.host(WORKER).hostKey;
    bad.nodes[1].ssh.host = "10.231.9.2";
    const r = await runDoctor(rehearsalPlan(bad), "rehearsal", {
      ...ssh,
      privateKeys: { [HEAD]: lab.clientKey, [WORKER]: lab.clientKey },
    });
    assert.match(find(r, "ssh", HEAD).evidence, /host-key-unknown|host-key-changed/);
    assert.match(find(r, "ssh", HEAD).fix ?? "", /ssh\.hostKey/);
    assert.match(find(r, "ssh", WORKER).evidence, /no-route|timeout/);
    assert.equal(r.exitCode, 2);
  });

  it("the CLI: --config, --json, exit 1 on warnings, progress on stderr, no key in any output", async () => {
    // Remove the image everywhere: not deployed yet is a WARN, so exit 1.
    const f = `/var/lib/dsv-sim/docker/images/${plan.image.tag.replace(/[/:]/g, "_")}`;
    for (const h of [HEAD, WORKER]) lab.must(h, `rm -f ${f}`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "doctor-cli-")), "cluster.json");
    fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await runDoctorCli(
        ["--config", file, "--json"],
        { out: (s) => out.push(s), err: (s) => err.push(s) },
        {},
        ssh,
      );
      const report = JSON.parse(out.join("")) as DoctorReport;
      assert.equal(code, 1, failures(report).join("\n"));
      assert.equal(report.exitCode, 1);
      assert.equal(find(report, "image", "cluster").status, "WARN");
      assert.match(err.join(""), /doctor: spark-head: probing spark@10\.231\.1\.2/);
      const keyBody = lab.clientKey.split("\n")[1] as string;
      assert.ok(
        !out.join("").includes(keyBody) && !err.join("").includes(keyBody),
        "the SSH key never appears in the output",
      );
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      for (const h of [HEAD, WORKER]) lab.must(h, `echo ${IMAGE_ID} > ${f}`);
    }
  });
});
