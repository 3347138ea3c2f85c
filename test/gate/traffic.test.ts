import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { functionSampler, parseMemAvailableMb, sshMemorySampler } from "../../src/gate/memory";
import { SshSession } from "../../src/ssh";
import { mtpGate, soakGate } from "../../src/gate/traffic";
import { FAST, fakeSsh, tempDir, withStandin } from "../bench/support";

const traffic = (url: string, durationMs = 600) => ({
  endpoint: url,
  model: "deepseek-v4",
  concurrency: 4,
  durationMs,
  maxTokens: 8,
  timeouts: { ...FAST, idleMs: 300 },
  healthIntervalMs: 100,
});

test("mtp passes on healthy mixed traffic: greedy and non-greedy streams run concurrently", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 2 } }, async (s) => {
    const r = await mtpGate(traffic(s.url));
    assert.equal(r.status, "pass", r.problems.join("\n"));
    const temps = s.chatBodies.map((b) => b.temperature);
    assert.ok(
      temps.filter((t) => t === 0).length > 4 && temps.filter((t) => t === 0.8).length > 4,
      "both greedy and non-greedy",
    );
    assert.ok(s.chatBodies.every((b) => b.stream === true));
    assert.equal(r.details.requests, s.stats.chatRequests);
    assert.ok((r.details.healthChecks as number) >= 3, "health was polled during the run");
    assert.ok(r.durationMs >= 550 && r.durationMs < 2000, `ran for its duration: ${r.durationMs} ms`);
  });
});

const mtpFaults: { name: string; opts: Record<string, unknown>; problem: RegExp }[] = [
  {
    name: "an occasional 5xx",
    opts: { fault: (n: number) => (n % 9 === 3 ? { status: 500 } : undefined) },
    problem: /requests failed \(http-5xx \d+\)/,
  },
  {
    name: "a dropped stream",
    opts: { fault: (n: number) => (n === 6 ? { dropAfterTokens: 3 } : undefined) },
    problem: /dropped 1/,
  },
  {
    name: "a truncated stream",
    opts: { fault: (n: number) => (n === 6 ? { endWithoutDone: true } : undefined) },
    problem: /truncated 1/,
  },
  {
    name: "a stalled stream",
    opts: { fault: (n: number) => (n === 6 ? { stallAfterTokens: 2 } : undefined) },
    problem: /stalled 1/,
  },
  {
    name: "engine death (/health 503, 500 EngineDeadError)",
    opts: { engineDeadAtRequest: 12 },
    problem: /engine death: \/health answered HTTP 503/,
  },
  { name: "the server process dying", opts: { dieAtRequest: 12 }, problem: /refused/ },
];
for (const f of mtpFaults) {
  test(`mtp fails on ${f.name}`, async () => {
    await withStandin({ behavior: { tokenIntervalMs: 2 }, ...f.opts }, async (s) => {
      const t0 = Date.now();
      const r = await mtpGate(traffic(s.url));
      assert.equal(r.status, "fail");
      assert.match(r.problems.join("\n"), f.problem);
      assert.ok(Date.now() - t0 < 3000, "no hang");
    });
  });
}

test("mtp stops early when the server is gone and says so", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 2 }, dieAtRequest: 5 }, async (s) => {
    const r = await mtpGate(traffic(s.url, 5000));
    assert.equal(r.status, "fail");
    assert.ok(r.durationMs < 2500, `stopped early: ${r.durationMs} ms`);
    assert.match(String(r.details.stoppedEarly), /refuses connections|engine death/);
    assert.match(r.problems.join("\n"), /engine death/);
  });
});

/** A sampler whose MemAvailable falls at `mbPerHour` (wall clock), from 8000 MB. */
const declining = (node: string, mbPerHour: number) => {
  const t0 = performance.now();
  return functionSampler(node, () => 8000 - (mbPerHour * (performance.now() - t0)) / 3_600_000);
};

test("soak measures each node's free-memory slope and fails the leaking node only", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 2 } }, async (s) => {
    const leak = 2_000_000; // MB/h: ~330 MB over 0.6 s
    const r = await soakGate({
      ...traffic(s.url),
      samplers: [declining("spark-head", 0), declining("spark-worker", leak)],
      sampleIntervalMs: 50,
      maxDeclineMbPerHour: 500,
      minVerdictMs: 0,
    });
    assert.equal(r.status, "fail");
    const mem = r.details.memory as { node: string; slopeMbPerHour: number; samples: number }[];
    const head = mem.find((m) => m.node === "spark-head");
    const worker = mem.find((m) => m.node === "spark-worker");
    assert.ok(head && worker);
    assert.ok(Math.abs(head.slopeMbPerHour) < 1, `flat node slope ${head.slopeMbPerHour}`);
    assert.ok(
      Math.abs(worker.slopeMbPerHour + leak) / leak < 0.1,
      `measured ${worker.slopeMbPerHour} MB/h for a ${-leak} MB/h leak`,
    );
    assert.ok(worker.samples >= 5);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0] ?? "", /^spark-worker: free memory fell at \d+ MB\/h .* over the 500 MB\/h limit/);
    assert.ok((r.details.requests as number) > 10, "traffic ran alongside the sampling");
  });
});

test("soak passes with flat memory; failing samplers, no samplers and an explicit opt-out are each reported", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 2 } }, async (s) => {
    const flat = await soakGate({
      ...traffic(s.url, 400),
      samplers: [declining("n1", 100)],
      sampleIntervalMs: 50,
      maxDeclineMbPerHour: 500,
      minVerdictMs: 0,
    });
    assert.equal(flat.status, "pass", flat.problems.join("\n"));
    assert.match(flat.summary, /free-memory slope MB\/h \(negative = shrinking\): n1 -(\d+)$/);
    const measured = Number(/n1 -(\d+)$/.exec(flat.summary)?.[1]);
    assert.ok(measured >= 80 && measured <= 120, `a 100 MB/h decline measured as ${measured}`);
    const broken = await soakGate({
      ...traffic(s.url, 300),
      samplers: [
        functionSampler("n1", () => Promise.reject(new Error("ssh: connect to host n1: Connection timed out"))),
      ],
      sampleIntervalMs: 50,
      maxDeclineMbPerHour: 500,
      minVerdictMs: 0,
    });
    assert.equal(broken.status, "fail");
    assert.match(broken.problems.join("\n"), /n1: only 0 memory sample\(s\) succeeded.*Connection timed out/);
    const none = await soakGate({
      ...traffic(s.url, 200),
      samplers: [],
      sampleIntervalMs: 50,
      maxDeclineMbPerHour: 500,
      minVerdictMs: 0,
    });
    assert.equal(none.status, "fail");
    assert.match(none.problems.join("\n"), /free memory was not sampled/);
    const optOut = await soakGate({
      ...traffic(s.url, 200),
      samplers: [],
      memoryOptOut: true,
      sampleIntervalMs: 50,
      maxDeclineMbPerHour: 500,
      minVerdictMs: 0,
    });
    assert.equal(optOut.status, "pass");
    assert.match(optOut.notes.join("\n"), /--sampler none/);
  });
});

test("the SSH sampler runs `ssh -o BatchMode=yes ... user@host -- cat /proc/meminfo` and reads MemAvailable", async () => {
  assert.equal(parseMemAvailableMb("MemTotal: 1 kB\nMemAvailable:    8388608 kB\n"), 8192);
  assert.throws(() => parseMemAvailableMb("MemTotal: 1 kB\n"), /no MemAvailable/);
  const dir = tempDir();
  const ssh = fakeSsh(dir);
  writeFileSync(join(dir, "memavail-10.1.2.3"), "8388608");
  writeFileSync(join(dir, "step-10.1.2.3"), "1024");
  const worker = { name: "spark-worker", ssh: { host: "10.1.2.3", port: 22, user: "spark" } };
  const sampler = sshMemorySampler(new SshSession({ sshCommand: [ssh] }), worker);
  assert.equal(await sampler.sample(), 8192);
  assert.equal(await sampler.sample(), 8191);
  assert.match(
    readFileSync(join(dir, "ssh.log"), "utf8"),
    /^-o BatchMode=yes .*-o StrictHostKeyChecking=no -p 22 spark@10\.1\.2\.3 -- cat \/proc\/meminfo$/m,
  );
  writeFileSync(join(dir, "fail"), "");
  await assert.rejects(
    sampler.sample(),
    /spark@10\.1\.2\.3 cat \/proc\/meminfo: exit 255 \(ssh: connect to host: No route to host\)/,
  );
  const noSsh = new SshSession({ sshCommand: [join(dir, "no-such-ssh")] });
  const missing = sshMemorySampler(noSsh, { name: "x", ssh: { host: "h", port: 22, user: "u" } });
  await assert.rejects(missing.sample(), /not installed or not on PATH/);
});

test("soak: a run shorter than the verdict minimum is inconclusive, not failed on extrapolated noise", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 2 } }, async (s) => {
    const r = await soakGate({
      ...traffic(s.url, 500),
      samplers: [declining("spark-worker", 2_000_000)],
      sampleIntervalMs: 50,
      maxDeclineMbPerHour: 500,
    });
    assert.equal(r.status, "inconclusive", r.summary);
    assert.deepEqual(r.problems, []);
    assert.equal(r.details.memoryVerdict, "inconclusive");
    assert.equal(r.details.minVerdictS, 300);
    assert.match(r.notes.join("\n"), /under the 300 s a free-memory verdict needs/);
    // Traffic failures still fail a short soak.
    await s.close();
    const dead = await soakGate({
      ...traffic(s.url, 300),
      samplers: [declining("spark-worker", 0)],
      sampleIntervalMs: 50,
      maxDeclineMbPerHour: 500,
    });
    assert.equal(dead.status, "fail");
  });
});
