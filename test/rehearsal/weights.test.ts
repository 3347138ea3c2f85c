/**
 * Weights rehearsal: model delivery on two simulated Sparks with both twin ports, against a hub
 * stand-in (test/weights/hub.py, in the lab namespace) that serves a generated fake repository of a
 * few hundred MB through the endpoints the real huggingface_hub uses and counts every byte it
 * sends. The download runs the real huggingface_hub from PyPI (scripts/hf-venv.sh) inside the
 * docker stand-in's "container"; the copy runs head -> worker over SSH to the worker's data-plane
 * addresses (the veth pairs standing in for the RoCE cable).
 *
 * Checked: head-then-copy fetches each byte from the hub once and the worker's files arrive over
 * the data-plane link (both twins carry bytes) with matching hashes; a second run transfers
 * nothing; a flipped byte on the worker is found and repaired; a copy killed mid-way resumes;
 * `each` downloads on both nodes; `local` verifies a `hf download --local-dir` copy with the hub
 * stopped and refuses a corrupt one. Wall time and hub bytes per mode are printed (and written to
 * $DSV_WEIGHTS_REPORT when set) for docs/weights.md.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ClusterPlan, NodePlan } from "../../src/plan/types";
import { weightsDir, weightsStep } from "../../src/plan/weights";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, WORKER } from "./cluster";
import { type Conn, labUnavailable, type Run, SimLab } from "./lab";

const REPO = "fake-org/fake-model";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const TOKEN = "hf_rehearsal_token_value_1234";
const PORT = 18080;
const MB = Number(process.env.DSV_WEIGHTS_MB ?? 300);
const ROOT = path.resolve(__dirname, "..", "..", "..");

function venvPython(): string | undefined {
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "hf-venv.sh")], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * A shell command that inverts every bit of the byte at `offset` of `file` (a shell word): the file
 * always changes (writing a fixed byte left it as it was when the random content had that byte).
 */
function flipByte(file: string, offset: number): string {
  return [
    `b=$(dd if=${file} bs=1 skip=${offset} count=1 status=none | od -An -tu1 | tr -d ' ')`,
    `printf "\\\\$(printf %03o $((b ^ 255)))" | dd of=${file} bs=1 seek=${offset} conv=notrunc status=none`,
  ].join("; ");
}

const unavailable = labUnavailable();
const python = unavailable ? undefined : venvPython();
const why = unavailable ?? (python ? undefined : "scripts/hf-venv.sh could not install huggingface_hub");
const skip = why && process.env.CI !== "true" ? `weights rehearsal: ${why}` : false;

interface Stats {
  requests: number;
  bytes: number;
  files: Record<string, number>;
  ranges: number;
}

describe("weights rehearsal: delivery each, head-then-copy and local on simulated Sparks", { skip }, () => {
  let lab: SimLab;
  let repoDir: string;
  let hub: ChildProcess | undefined;
  let repoBytes = 0;
  const sums: Record<string, string> = {};
  const report: Record<string, unknown> = {};

  const stats = (): Stats =>
    JSON.parse(
      execFileSync("ip", ["netns", "exec", lab.labNs, "curl", "-sf", `http://127.0.0.1:${PORT}/_stats`], {
        encoding: "utf8",
      }),
    );

  const conn = (plan: ClusterPlan, name: string): Conn => {
    const n = plan.nodes.find((x) => x.name === name) as NodePlan;
    return { host: n.ssh.host, port: n.ssh.port, user: n.ssh.user, privateKey: lab.clientKey, hostKey: n.ssh.hostKey };
  };

  const planFor = (model: Record<string, unknown>): ClusterPlan => {
    const c = rehearsalConfig(lab, { twins: true });
    c.model = { ...c.model, hfToken: TOKEN, revision: COMMIT, hubEndpoint: `http://10.231.1.1:${PORT}`, ...model };
    c.model.id = REPO;
    return rehearsalPlan(c);
  };

  /** Run a node's weights step as `pulumi up` would: over SSH with the node connection it names, the token on stdin. */
  const runStep = async (plan: ClusterPlan, node: string): Promise<Run & { ms: number }> => {
    const n = plan.nodes.find((x) => x.name === node) as NodePlan;
    const step = weightsStep(plan, n);
    const t0 = Date.now();
    const r = await lab.ssh(conn(plan, step.runsOn), step.create, step.needsToken ? `${TOKEN}\n` : "");
    return { ...r, ms: Date.now() - t0 };
  };

  const rx = (node: string): number[] =>
    lab.host(node).netdevs.map((d) => Number(lab.must(node, `cat /sys/class/net/${d}/statistics/rx_bytes`).trim()));

  const hashesOn = (node: string, dir: string): Record<string, string> => {
    const out = lab.must(
      node,
      `cd ${dir}/snapshots/${COMMIT} && find . -type l -o -type f | sort | xargs sha256sum -b`,
    );
    return Object.fromEntries(
      out
        .trim()
        .split("\n")
        .map((l) => {
          const [h, f] = l.split(/ \*?/);
          return [(f as string).replace(/^\.\//, "").replace(/^\*/, ""), h as string];
        }),
    );
  };

  before(async () => {
    // A repository of ~MB megabytes: four LFS weight shards and two small git files.
    repoDir = fs.mkdtempSync(path.join(os.tmpdir(), "dsv-weights-repo-"));
    const shard = Math.floor((MB * 1e6) / 4);
    for (let i = 1; i <= 4; i++) {
      const f = path.join(repoDir, `model-0000${i}-of-00004.safetensors`);
      const fd = fs.openSync(f, "w");
      for (let left = shard; left > 0; left -= 1 << 24) fs.writeSync(fd, crypto.randomBytes(Math.min(left, 1 << 24)));
      fs.closeSync(fd);
    }
    fs.writeFileSync(path.join(repoDir, "config.json"), JSON.stringify({ architectures: ["FakeForCausalLM"] }));
    fs.writeFileSync(path.join(repoDir, "tokenizer.json"), crypto.randomBytes(300_000).toString("hex"));
    for (const f of fs.readdirSync(repoDir)) {
      const b = fs.readFileSync(path.join(repoDir, f));
      repoBytes += b.length;
      sums[f] = crypto.createHash("sha256").update(b).digest("hex");
    }
    lab = await SimLab.start(hostSpecs(true));
    hub = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.labNs,
        "python3",
        path.join(ROOT, "test", "weights", "hub.py"),
        repoDir,
        String(PORT),
        REPO,
        COMMIT,
        "--token",
        TOKEN,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      hub?.stdout?.once("data", () => resolve());
      hub?.once("exit", (c) => reject(new Error(`hub stand-in exited ${c}`)));
    });
    // The data-plane addresses (RoceLink's job, rehearsed elsewhere) and the docker stand-in's python.
    const plan = planFor({});
    for (const n of plan.nodes) {
      for (const p of n.dataPlane) lab.must(n.name, `ip addr add ${p.address}/${p.prefix} dev ${p.netdev}`);
      lab.must(n.name, `echo ${python} > /var/lib/dsv-sim/docker/python`);
    }
  });

  after(() => {
    if (hub && hub.exitCode === null) hub.kill("SIGKILL");
    lab?.stop();
    if (repoDir) fs.rmSync(repoDir, { recursive: true, force: true });
    console.log(`weights rehearsal figures: ${JSON.stringify(report)}`);
    if (process.env.DSV_WEIGHTS_REPORT)
      fs.writeFileSync(process.env.DSV_WEIGHTS_REPORT, JSON.stringify(report, null, 1));
  });

  it("head-then-copy: the hub sends each byte once, the worker gets it over both data-plane twins, hashes match", async () => {
    const plan = planFor({ delivery: "head-then-copy" });
    const head = plan.nodes.find((n) => n.name === HEAD) as NodePlan;
    const worker = plan.nodes.find((n) => n.name === WORKER) as NodePlan;
    assert.equal(weightsStep(plan, worker).runsOn, HEAD);
    const s0 = stats();
    const rx0 = rx(WORKER);
    const fetched = await runStep(plan, HEAD);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.ok(!`${fetched.stdout}${fetched.stderr}`.includes(TOKEN), "the token is never printed");
    assert.match(fetched.stderr, /weights download: .* \(\d+\.\d%\), [\d.]+ MB\/s, ETA /);
    assert.match(fetched.stderr, /weights disk: [\d.]+ GB free under .*needs [\d.]+ GB/);
    const copied = await runStep(plan, WORKER);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stderr, /weights copy to spark-worker: 6 file\(s\), .* over 10\.0\.0\.2, 10\.0\.1\.2/);
    assert.match(copied.stderr, /weights ok: spark-worker: revision .*: 6 files verified/);
    const s1 = stats();
    assert.equal(s1.bytes - s0.bytes, repoBytes, "every byte of the repository came from the hub exactly once");
    for (const [f, n] of Object.entries(s1.files)) assert.equal(n, fs.statSync(path.join(repoDir, f)).size, f);
    const moved = rx(WORKER).map((v, i) => v - (rx0[i] as number));
    assert.ok((moved[0] as number) + (moved[1] as number) >= repoBytes, `data-plane rx ${moved} < ${repoBytes}`);
    assert.ok(
      moved.every((m) => m > repoBytes / 10),
      `both twins carried the copy: ${moved}`,
    );
    assert.deepEqual(hashesOn(HEAD, weightsDir(plan, head)), sums);
    assert.deepEqual(hashesOn(WORKER, weightsDir(plan, worker)), sums);
    report["head-then-copy"] = {
      hubBytes: s1.bytes - s0.bytes,
      downloadMs: fetched.ms,
      copyMs: copied.ms,
      totalMs: fetched.ms + copied.ms,
      dataPlaneBytes: moved,
    };

    // A second up with everything present: no hub request, nothing over the link but the check.
    const rx1 = rx(WORKER);
    const again = [await runStep(plan, HEAD), await runStep(plan, WORKER)];
    for (const r of again) assert.equal(r.code, 0, r.stderr);
    assert.match(again[0]?.stderr ?? "", /nothing to transfer, no hub request/);
    const s2 = stats();
    assert.deepEqual([s2.requests, s2.bytes], [s1.requests, s1.bytes]);
    const moved2 = rx(WORKER).reduce((a, v, i) => a + v - (rx1[i] as number), 0);
    assert.ok(moved2 < 2e6, `second up moved ${moved2} bytes to the worker`);
    report["second-up"] = {
      hubBytes: s2.bytes - s1.bytes,
      hubRequests: s2.requests - s1.requests,
      ms: (again[0]?.ms ?? 0) + (again[1]?.ms ?? 0),
    };
  });

  it("head-then-copy: a flipped byte on the worker is found and copied again", async () => {
    const plan = planFor({ delivery: "head-then-copy" });
    const worker = plan.nodes.find((n) => n.name === WORKER) as NodePlan;
    const f = `${weightsDir(plan, worker)}/snapshots/${COMMIT}/model-00002-of-00004.safetensors`;
    lab.must(WORKER, flipByte(`"$(readlink -f ${f})"`, 12345));
    assert.notEqual(
      hashesOn(WORKER, weightsDir(plan, worker))["model-00002-of-00004.safetensors"],
      sums["model-00002-of-00004.safetensors"],
    );
    const s0 = stats();
    const r = await runStep(plan, WORKER);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /repair: spark-worker: model-00002-of-00004\.safetensors: does not match the manifest/);
    assert.deepEqual(hashesOn(WORKER, weightsDir(plan, worker)), sums);
    assert.equal(stats().bytes, s0.bytes, "the repair came from the head, not the hub");
  });

  it("head-then-copy: a copy killed mid-way resumes where it stopped", async () => {
    const plan = planFor({ delivery: "head-then-copy" });
    const worker = plan.nodes.find((n) => n.name === WORKER) as NodePlan;
    const dir = weightsDir(plan, worker);
    lab.must(WORKER, `rm -rf ${dir}`);
    const step = weightsStep(plan, worker);
    const tmpOnHead = () => new Set(lab.must(HEAD, "ls -A /tmp").split("\n").filter(Boolean));
    const tmp0 = tmpOnHead();
    // Run the head's copy as its login user in its own process group, then kill the group by id.
    const child = lab.spawn(HEAD, ["runuser", "-u", "spark", "--", "bash", "-c", step.create], { detached: true });
    const partial = () => {
      const out = lab.exec(WORKER, `cat ${dir}/blobs/*.incomplete 2>/dev/null | wc -c`).stdout.trim();
      return Number(out || 0);
    };
    const t0 = Date.now();
    while (partial() < repoBytes / 5 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    killIfAlive(-(child.pid as number));
    await new Promise((r) => setTimeout(r, 300));
    const left = partial();
    assert.ok(left > 0 && left < repoBytes, `killed mid-way: ${left} of ${repoBytes} bytes on the worker`);
    const leftInTmp = [...tmpOnHead()].filter((f) => !tmp0.has(f) && f.startsWith("dgx-spark-vllm"));
    assert.deepEqual(leftInTmp, [], "a killed copy leaves no file of ours in /tmp on the head");
    const rx0 = rx(WORKER);
    const r = await runStep(plan, WORKER);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /resuming: [\d.]+ GB already there/);
    const moved = rx(WORKER).reduce((a, v, i) => a + v - (rx0[i] as number), 0);
    assert.ok(moved < repoBytes - left / 2, `the resumed copy moved ${moved} bytes, ${left} were already there`);
    assert.deepEqual(hashesOn(WORKER, dir), sums);
    report["copy-resume"] = { killedAfterBytes: left, resumedBytesOverLink: moved, ms: r.ms };
  });

  it("head-then-copy: with the data-plane link down the worker downloads itself (never less than each)", async () => {
    const plan = planFor({ delivery: "head-then-copy", hfCachePath: "/opt/fallback-cache" });
    const worker = plan.nodes.find((n) => n.name === WORKER) as NodePlan;
    const s0 = stats();
    const fetched = await runStep(plan, HEAD);
    assert.equal(fetched.code, 0, fetched.stderr);
    for (const d of lab.host(WORKER).netdevs) lab.must(WORKER, `ip link set dev ${d} down`);
    try {
      const r = await runStep(plan, WORKER);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /the copy to spark-worker failed \(above\): spark-worker downloads from the hub instead/);
      assert.match(r.stderr, /node spark-worker: weights ok: revision .*: 6 files verified/);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN));
      assert.equal(stats().bytes - s0.bytes, 2 * repoBytes, "the head's download and the worker's own");
      assert.deepEqual(hashesOn(WORKER, weightsDir(plan, worker)), sums);
      report["copy-fallback"] = { hubBytes: stats().bytes - s0.bytes, ms: fetched.ms + r.ms };
    } finally {
      for (const d of lab.host(WORKER).netdevs) lab.must(WORKER, `ip link set dev ${d} up`);
    }
  });

  it("each: both nodes download from the hub and verify", async () => {
    const plan = planFor({ delivery: "each", hfCachePath: "/opt/each-cache" });
    const s0 = stats();
    const t0 = Date.now();
    const rs = await Promise.all([runStep(plan, HEAD), runStep(plan, WORKER)]);
    const ms = Date.now() - t0;
    for (const r of rs) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /weights ok: revision .*: 6 files verified/);
    }
    const s1 = stats();
    assert.equal(s1.bytes - s0.bytes, 2 * repoBytes);
    for (const n of plan.nodes) assert.deepEqual(hashesOn(n.name, weightsDir(plan, n)), sums);
    report.each = { hubBytes: s1.bytes - s0.bytes, totalMs: ms };
  });

  it("each: a download killed mid-way resumes with range requests, and the token is in no log or command", async () => {
    const plan = planFor({ delivery: "each", hfCachePath: "/opt/resume-cache" });
    const head = plan.nodes.find((n) => n.name === HEAD) as NodePlan;
    const blobs = `${weightsDir(plan, head)}/blobs`;
    const step = weightsStep(plan, head);
    const s0 = stats();
    const child = lab.spawn(HEAD, ["runuser", "-u", "spark", "--", "bash", "-c", step.create], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    child.stdin?.end(`${TOKEN}\n`);
    const partial = () => Number(lab.exec(HEAD, `cat ${blobs}/*.incomplete 2>/dev/null | wc -c`).stdout.trim() || 0);
    const t0 = Date.now();
    while (partial() < repoBytes / 5 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    // sudo (in the docker stand-in) runs the "container" apart from our process group: end it by
    // its id, found among the processes of this simulated host's network namespace only.
    killIfAlive(-(child.pid as number));
    const ns = fs.readlinkSync(`/proc/${lab.host(HEAD).pid}/ns/net`);
    const downloaders = () =>
      fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((pid) => {
          try {
            return (
              fs.readlinkSync(`/proc/${pid}/ns/net`) === ns &&
              fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("\0fetch\0") &&
              !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
            );
          } catch {
            return false;
          }
        });
    // A downloader may end between being listed and being killed (the group's kill reaches its
    // parent): ESRCH then means it is already gone. Poll until none is left.
    const t1 = Date.now();
    while (downloaders().length > 0 && Date.now() - t1 < 10_000) {
      for (const pid of downloaders()) killIfAlive(Number(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(downloaders(), [], "the download is dead");
    // Complete blobs and partial ones: what the next run must not fetch again.
    const left = Number(lab.exec(HEAD, `cat ${blobs}/* 2>/dev/null | wc -c`).stdout.trim() || 0);
    assert.ok(partial() > 0 && left < repoBytes, `killed mid-way: ${left} of ${repoBytes} bytes on disk`);
    const mid = stats();
    const r = await runStep(plan, HEAD);
    assert.equal(r.code, 0, r.stderr);
    const s1 = stats();
    assert.ok(s1.ranges > s0.ranges, "the client resumed with range requests");
    // The second run fetched only what was missing (the hub's count before the kill also holds bytes in flight).
    const again = s1.bytes - mid.bytes;
    assert.ok(
      again <= repoBytes - left,
      `the resumed download took ${again} bytes; ${left} of ${repoBytes} were on disk`,
    );
    assert.deepEqual(hashesOn(HEAD, weightsDir(plan, head)), sums);
    assert.ok(again > 0, "the resumed run fetched the rest");
    report["download-resume"] = { killedAfterBytes: left, resumedHubBytes: again, ms: r.ms };
    for (const h of [HEAD, WORKER]) {
      const logs = lab.exec(h, `grep -rl -- ${TOKEN} /var/lib/dsv-sim /var/log /home/spark 2>/dev/null`).stdout.trim();
      assert.equal(logs, "", `the token is written in ${logs}`);
    }
  });

  it("local: a `hf download --local-dir` copy is verified with the hub stopped; a corrupt one is refused", async () => {
    const dir = "/opt/models/fake";
    for (const n of [HEAD, WORKER])
      lab.must(
        n,
        `HF_ENDPOINT=http://10.231.1.1:${PORT} HF_TOKEN=${TOKEN} HF_HUB_DISABLE_PROGRESS_BARS=1 ${python} -c "from huggingface_hub import snapshot_download; snapshot_download('${REPO}', revision='${COMMIT}', local_dir='${dir}')"`,
      );
    const s0 = stats();
    hub?.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    const plan = planFor({ delivery: "local", localPath: dir });
    const worker = plan.nodes.find((n) => n.name === WORKER) as NodePlan;
    assert.ok(worker.container.env.HF_HUB_OFFLINE === "1");
    assert.ok(worker.serveArgv.includes(dir));
    const t0 = Date.now();
    const rs = await Promise.all([runStep(plan, HEAD), runStep(plan, WORKER)]);
    for (const r of rs) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /local copy \/opt\/models\/fake: revision 0123456789abcdef0123456789abcdef01234567: 6 files verified/,
      );
    }
    report.local = { hubBytes: 0, hubRequestsBeforeStop: s0.requests, totalMs: Date.now() - t0 };
    lab.must(WORKER, flipByte(`${dir}/model-00003-of-00004.safetensors`, 777));
    const bad = await runStep(plan, WORKER);
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /1 of 6 file\(s\) under \/opt\/models\/fake fail verification, not served: model-00003-of-00004\.safetensors: sha256/,
    );
  });
});

/** SIGKILL a process (or, negative, a process group) that may already have ended. */
function killIfAlive(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}
