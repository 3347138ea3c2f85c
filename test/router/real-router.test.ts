/**
 * vLLM's own router for real: `vllm-router` from PyPI (scripts/vllm-router-venv.sh, pinned) started
 * with the plan's launcher (ROUTER_LAUNCHER) and arguments (routerArgs: policy cache_aware, the
 * plan's health checks), in front of TWO real vLLM CPU servers (test/support/vllm-server.ts) on
 * loopback, with the API key in the environment as the plan's unit gives it.
 *
 * Shown: requests through the router reach both replicas (each server's own /metrics counts what it
 * served); with cache_aware, requests sharing a long prefix all go to one replica; without the key
 * the router answers 401 and the key is in neither its argv nor its log; a replica killed mid-run
 * fails at most the requests in flight on it, later ones succeed on the other, the router marks it
 * unhealthy and, once it is back, healthy again and sends it requests; `bench` through the router
 * beside the same run against one replica directly (the numbers are printed; docs/router.md keeps
 * the ones measured here, on CPU).
 *
 * Prerequisites: both venvs. In CI (CI=true) a missing one fails; elsewhere the file is skipped
 * with one line.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BenchReport } from "../../src/bench/run";
import { runBenchCli } from "../../src/cli/bench";
import { runStatusCli } from "../../src/cli/status";
import { evaluate, type NodeResult } from "../../src/doctor/evaluate";
import { parseProbe, probeScript } from "../../src/doctor/probe";
import { planFromInput } from "../../src/plan/cluster";
import type { ObservabilityPlan } from "../../src/plan/observability";
import { ROUTER_LAUNCHER, routerArgs } from "../../src/plan/router";
import { routerSeriesRead } from "../../src/plan/router-observability";
import { baseConfig } from "../support/fixtures";
import { routerDeployment } from "../support/rendered";
import { captureIo } from "../bench/support";
import { freePort, IN_CI, startVllm, tinyModel, type VllmServer, vllmPython } from "../support/vllm-server";

const API_KEY = "real-router-test-key-7c2d41e9a3b5f860";
const SERVED = "deepseek-v4";
const ROOT = resolve(__dirname, "..", "..", "..");

function routerBinary(): { python: string } | { why: string } {
  const r = spawnSync("bash", [join(ROOT, "scripts", "vllm-router-venv.sh"), "--check"], { encoding: "utf8" });
  if (r.status === 0) return { python: resolve(r.stdout.trim(), "..", "python") };
  return {
    why: (r.stderr ?? "").trim().split("\n").at(-1) || `scripts/vllm-router-venv.sh --check exited ${r.status}`,
  };
}

const venv = vllmPython();
const router = routerBinary();
const why = "why" in venv ? venv.why : "why" in router ? router.why : undefined;
const skip = why && !IN_CI ? `real router tests skipped: ${why}` : false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WORDS =
  "amber basil cedar delta ember fjord granite harbor indigo juniper kelp lumen maple nectar onyx pebble quartz raven saffron tundra umber velvet willow xenon yarrow zephyr".split(
    " ",
  );
/**
 * A prompt that shares no prefix with another: cache_aware matches the text after the chat
 * template, so prompts that start alike ("question 1", "question 2") count as one prefix.
 */
const distinct = () => Array.from({ length: 24 }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(" ");

/** One chat completion; resolves with the HTTP status (0: no answer). */
async function chat(base: string, content: string, key: string | null = API_KEY, maxTokens = 4): Promise<number> {
  try {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ model: SERVED, messages: [{ role: "user", content }], max_tokens: maxTokens }),
      signal: AbortSignal.timeout(120_000),
    });
    await r.text();
    return r.status;
  } catch {
    return 0;
  }
}

/**
 * A server's /metrics. One retry: fetch reuses an idle keep-alive connection, and the server may
 * close it just then (uvicorn's keep-alive timeout), which fails the request with "other side closed".
 */
async function metricsText(base: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }
}

/** Requests a vLLM server has finished (its own /metrics: vllm:request_success_total, every label). */
async function served(s: VllmServer): Promise<number> {
  const text = await metricsText(s.url);
  let n = 0;
  for (const line of text.split("\n")) {
    const m = /^vllm:request_success_total(\{[^}]*\})?\s+([0-9.e+]+)/.exec(line);
    if (m) n += Number(m[2]);
  }
  return n;
}

interface Worker {
  url: string;
  is_healthy: boolean;
}

describe("vLLM's router (vllm-router from PyPI) in front of two real vLLM CPU servers", { skip }, () => {
  let dir: string;
  let model: string;
  let python: string;
  const servers: VllmServer[] = [];
  const ports: number[] = [];
  let proc: ChildProcess | undefined;
  let routerUrl: string;
  let metricsUrl: string;
  let routerLog: string;
  let launchArgv: string[] = [];
  const t0 = Date.now();
  const notes: string[] = [];

  const workers = async (): Promise<Worker[]> => {
    const r = await fetch(`${routerUrl}/workers`, {
      headers: { authorization: `Bearer ${API_KEY}` },
      signal: AbortSignal.timeout(10_000),
    });
    return ((await r.json()) as { workers: Worker[] }).workers;
  };
  const start = (i: number) =>
    startVllm({
      python,
      model,
      servedName: SERVED,
      apiKey: API_KEY,
      maxModelLen: 2048,
      port: ports[i] as number,
      name: `router-replica-${i}`,
      // cache_aware routes on token ids from each worker's /v1/chat/completions/render, which vLLM
      // serves only with this flag (without it: 403, and every request goes to one worker).
      extraArgs: ["--enable-scale-out"],
    });
  /** Wait until the router reports worker i's health as `healthy`. */
  const untilHealth = async (i: number, healthy: boolean, timeoutMs: number): Promise<number> => {
    const t = Date.now();
    const url = servers[i]!.url;
    for (;;) {
      const w = (await workers()).find((x) => x.url === url);
      if (w?.is_healthy === healthy) return Date.now() - t;
      if (Date.now() - t > timeoutMs)
        throw new Error(`the router did not mark ${url} ${healthy ? "healthy" : "unhealthy"} in ${timeoutMs} ms`);
      await sleep(1_000);
    }
  };

  before(async () => {
    if ("why" in venv) throw new Error(`the real router tests need the vLLM CPU venv: ${venv.why}`);
    if ("why" in router) throw new Error(`the real router tests need the router venv: ${router.why}`);
    python = venv.python;
    dir = mkdtempSync(join(tmpdir(), "dgx-real-router-"));
    model = tinyModel(python);
    ports.push(await freePort(), await freePort());
    // Both at once (about 2 GB each here); a start costs 1-2.5 min on 2 loaded cores.
    let t = Date.now();
    servers.push(start(0), start(1));
    await Promise.all(servers.map((s) => s.waitHealthy(600_000)));
    notes.push(`two vLLM servers healthy after ${Date.now() - t} ms`);
    const port = await freePort();
    const metricsPort = await freePort();
    routerUrl = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const launcher = join(dir, "launch-router.py");
    writeFileSync(launcher, ROUTER_LAUNCHER);
    routerLog = join(dir, "router.log");
    const fd = openSync(routerLog, "w");
    const args = routerArgs({
      workers: servers.map((s) => s.url),
      policy: "cache_aware",
      host: "127.0.0.1",
      port,
      metricsHost: "127.0.0.1",
      metricsPort,
    });
    t = Date.now();
    launchArgv = [launcher, ...args];
    proc = spawn(router.python, launchArgv, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, VLLM_API_KEY: API_KEY, NO_COLOR: "1" },
    });
    closeSync(fd);
    process.once("exit", () => {
      try {
        process.kill(-(proc?.pid as number), "SIGKILL");
      } catch {}
    });
    for (;;) {
      try {
        const r = await fetch(`${routerUrl}/readiness`, {
          headers: { authorization: `Bearer ${API_KEY}` },
          signal: AbortSignal.timeout(5_000),
        });
        const body = (await r.json()) as { healthy_workers?: number };
        if (r.status === 200 && body.healthy_workers === 2) break;
      } catch {}
      if (proc.exitCode !== null) throw new Error(`the router exited: ${readFileSync(routerLog, "utf8").slice(-3000)}`);
      if (Date.now() - t > 120_000)
        throw new Error(`router not ready: ${readFileSync(routerLog, "utf8").slice(-3000)}`);
      await sleep(500);
    }
    notes.push(`router ready with both workers after ${Date.now() - t} ms`);
  });

  after(async () => {
    if (proc && proc.exitCode === null) {
      const gone = new Promise((r) => proc!.once("exit", r));
      process.kill(-(proc.pid as number), "SIGTERM");
      await Promise.race([gone, sleep(10_000)]);
      try {
        process.kill(-(proc.pid as number), "SIGKILL");
      } catch {}
    }
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`real router: ${notes.join("; ")}; file ${Math.round((Date.now() - t0) / 1000)} s`);
  });

  it("refuses a request without the key or with a wrong one (401); the key is in neither its argv nor its log", async () => {
    assert.equal(await chat(routerUrl, "hello", null), 401);
    assert.equal(await chat(routerUrl, "hello", "not-the-key"), 401);
    assert.equal(await chat(routerUrl, "hello"), 200);
    // Its other routes too (the admin ones included), but not the metrics listener.
    const w = await fetch(`${routerUrl}/workers`);
    assert.equal(w.status, 401);
    const rm = await fetch(`${routerUrl}/remove_worker?url=${encodeURIComponent(servers[0]!.url)}`, { method: "POST" });
    assert.equal(rm.status, 401);
    assert.equal((await workers()).length, 2, "the unauthenticated remove_worker removed nothing");
    assert.equal((await fetch(metricsUrl)).status, 200);
    // vllm-router renames its process (setproctitle "vllm::router"); the argv it was given is the plan's.
    assert.ok(!launchArgv.join(" ").includes(API_KEY) && launchArgv.includes("--worker-urls"));
    assert.ok(!readFileSync(`/proc/${proc!.pid}/cmdline`, "utf8").includes(API_KEY), "not in the process's argv");
    assert.ok(!readFileSync(routerLog, "utf8").includes(API_KEY), "the key is not in the router's log");
  });

  it("`status --router` reads the router itself: ready, both workers healthy, requests routed per worker", async () => {
    const io = captureIo();
    const code = await runStatusCli(["--router", routerUrl, "--router-metrics", metricsUrl], io, {
      VLLM_API_KEY: API_KEY,
    });
    assert.equal(code, 0, io.stdout + io.stderr);
    assert.match(
      io.stdout,
      new RegExp(`^router ${routerUrl}: ready, 2 of 2 workers healthy, \\d+ requests since start$`, "m"),
    );
    for (const s of servers) assert.match(io.stdout, new RegExp(`^  healthy +${s.url}.* \\d+ requests routed$`, "m"));
    const noKey = captureIo();
    assert.equal(await runStatusCli(["--router", routerUrl], noKey, {}), 1);
    assert.match(noKey.stdout, /401: the router wants the cluster's API key/);
  });

  it("requests through the router reach both replicas (each server's own /metrics)", async () => {
    // Concurrent: on a prefix miss cache_aware picks the less loaded worker (sequential misses all
    // find both idle and go to the same one). How 8 arrivals interleave decides the split: about one
    // round in 13 here sent all 8 to one replica, so up to 3 rounds, until both have served some.
    const total = [0, 0];
    const rounds: string[] = [];
    while (rounds.length < 3 && !(total[0]! > 0 && total[1]! > 0)) {
      const before = await Promise.all(servers.map(served));
      const codes = await Promise.all(Array.from({ length: 8 }, () => chat(routerUrl, distinct(), API_KEY, 48)));
      assert.deepEqual(codes, Array(8).fill(200));
      const after = await Promise.all(servers.map(served));
      const got = after.map((a, i) => a - (before[i] as number));
      assert.equal(got[0]! + got[1]!, 8, `every request served once: ${got}`);
      rounds.push(got.join(" + "));
      for (const i of [0, 1]) total[i]! += got[i]!;
    }
    notes.push(`8 concurrent distinct prompts: ${rounds.join(", then ")}`);
    assert.ok(total[0]! > 0 && total[1]! > 0, `both replicas served some: ${rounds.join(", then ")}`);
  });

  it("cache_aware: concurrent requests sharing a long prefix all go to the replica that has it", async () => {
    const prefix = `${distinct()}. ${"Here is the shared context of the session, repeated. ".repeat(16)}`;
    const before = await Promise.all(servers.map(served));
    assert.equal(await chat(routerUrl, `${prefix} Turn 0: begin.`), 200);
    const mid = await Promise.all(servers.map(served));
    const owner = mid[0]! - before[0]! === 1 ? 0 : 1;
    const codes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => chat(routerUrl, `${prefix} Turn ${i + 1}: what next?`, API_KEY, 48)),
    );
    assert.deepEqual(codes, Array(6).fill(200));
    const after = await Promise.all(servers.map(served));
    const got = after.map((a, i) => a - (mid[i] as number));
    notes.push(
      `6 concurrent prompts with a ${prefix.length}-char prefix seeded on replica ${owner}: ${got.join(" + ")}`,
    );
    assert.equal(got[owner], 6, `all six on replica ${owner}, which served the first: ${got}`);
    const m = await (await fetch(metricsUrl)).text();
    assert.match(m, /vllm_router_prefix_routing_decisions_total\{[^}]*outcome="prefix_hit"\} [1-9]/);
  });

  it("bench through the router, beside the same run against one replica directly", async () => {
    const run = async (endpoint: string) => {
      const io = captureIo();
      const code = await runBenchCli(
        [
          "--endpoint",
          `${endpoint}/v1`,
          "--levels",
          "1,4",
          "--requests",
          "8",
          "--max-tokens",
          "16",
          "--api-key-env",
          "BENCH_KEY",
          "--json",
          "--quiet",
        ],
        io,
        { env: { BENCH_KEY: API_KEY } },
      );
      assert.equal(code, 0, io.stderr + io.stdout);
      return JSON.parse(io.stdout) as BenchReport;
    };
    const via = await run(routerUrl);
    const direct = await run(servers[0]!.url);
    assert.equal(via.model, SERVED, "bench found the served model through the router's /v1/models");
    for (const [name, rep] of [
      ["router", via],
      ["direct", direct],
    ] as const) {
      for (const l of rep.levels) {
        assert.equal(l.errors, 0, `${name} c=${l.concurrency}`);
        assert.ok((l.aggregateTokPerS ?? 0) > 0);
        notes.push(
          `bench ${name} c=${l.concurrency}: ${l.aggregateTokPerS?.toFixed(1)} tok/s aggregate, TTFT p50 ${l.ttftMs.p50?.toFixed(0)} ms`,
        );
      }
    }
  });

  it("every vllm_router_* series the dashboards and alerts read has data on the real router, after traffic", async () => {
    const text = await (await fetch(metricsUrl)).text();
    const seen = [...new Set([...text.matchAll(/^(vllm_router_[a-z_]+)(\{[^}]*\})? /gm)].map((m) => m[1] as string))];
    notes.push(`vllm_router_* series seen: ${seen.sort().join(", ")}`);
    const o = routerDeployment().replicas[0]!.observability as ObservabilityPlan;
    const read = routerSeriesRead(o.panels, o.alerts);
    assert.ok(read.length >= 5, `the plan reads the router's series: ${read}`);
    for (const name of read) assert.ok(seen.includes(name), `${name} (read by a panel or rule) has no sample here`);
    // Per worker: both replicas by their URL, as the panels' {{worker}} legends show them.
    for (const sv of servers)
      assert.match(text, new RegExp(`^vllm_router_worker_health\\{worker="${sv.url}"\\} 1$`, "m"));
  });

  it("doctor's router checks read the real router (its probe step run in bash, the key on stdin): ready, 2 of 2 workers healthy, metrics", () => {
    // The plan of a cluster whose router runs on its worker node, on this router's ports.
    const c = baseConfig();
    c.serving.apiKey = API_KEY;
    c.serving.router = {
      enabled: true,
      node: "spark-worker",
      port: Number(new URL(routerUrl).port),
      metricsPort: Number(new URL(metricsUrl).port),
    };
    const plan = planFromInput(c, "plan");
    const node = plan.nodes.find((n) => n.name === "spark-worker")!;
    // No systemd runs here: a stand-in systemctl says the unit is active. Everything else is real.
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "systemctl"), "#!/bin/sh\necho active\n", { mode: 0o755 });
    const probe = (key: string) => {
      const r = spawnSync("bash", ["-c", probeScript(plan, node)], {
        input: key ? `${key}\n` : "",
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        timeout: 120_000,
      });
      const results = new Map<string, NodeResult>([[node.name, { ok: true, values: parseProbe(r.stdout) }]]);
      return new Map(
        evaluate(plan, results)
          .filter((x) => x.id.startsWith("router-"))
          .map((x) => [x.id, x]),
      );
    };
    const got = probe(API_KEY);
    assert.deepEqual([...got.keys()], ["router-unit", "router-ready", "router-workers", "router-metrics"]);
    for (const x of got.values()) assert.equal(x.status, "PASS", `${x.id}: ${x.evidence}`);
    const w = got.get("router-workers")!.evidence;
    assert.match(w, /^2 of 2 healthy; /);
    for (const sv of servers) assert.match(w, new RegExp(`healthy   ${sv.url}  load \\d+  \\d+ requests routed`));
    notes.push(`doctor: ${w}`);
    const noKey = probe("");
    assert.equal(noKey.get("router-ready")!.status, "FAIL");
    assert.match(noKey.get("router-ready")!.evidence, /^HTTP 401: refused the key/);
  });

  it("a replica killed mid-run fails at most its in-flight requests; later ones succeed on the other; its return is noticed", async () => {
    const total = 32;
    const concurrency = 4;
    let next = 0;
    let done = 0;
    let inflightAtKill = -1;
    let killedAt = -1;
    const results: { i: number; status: number; startedAfterKill: boolean }[] = [];
    const inflight = new Set<number>();
    const inFlightAtKill = new Set<number>();
    const victim = 1;
    const loop = async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const startedAfterKill = killedAt >= 0;
        inflight.add(i);
        const status = await chat(routerUrl, `${distinct()} ${i}`, API_KEY, 16);
        inflight.delete(i);
        results.push({ i, status, startedAfterKill });
        done++;
        if (done === 8 && killedAt < 0) {
          inflightAtKill = inflight.size;
          for (const x of inflight) inFlightAtKill.add(x);
          servers[victim]!.signal("SIGKILL");
          killedAt = Date.now();
        }
      }
    };
    const before = await served(servers[0]!);
    await Promise.all(Array.from({ length: concurrency }, loop));
    const failed = results.filter((r) => r.status !== 200);
    const afterKill = results.filter((r) => r.startedAfterKill);
    notes.push(
      `kill mid-run: ${failed.length} of ${total} failed (${inflightAtKill} in flight at the kill), ${afterKill.length} started after it`,
    );
    // Only requests in flight at the kill may fail; they can end last (the router waits out the dead
    // connection), so "later" is by start order, not by completion.
    assert.ok(
      failed.every((r) => inFlightAtKill.has(r.i)),
      `failures ${JSON.stringify(failed)}, in flight at the kill: ${[...inFlightAtKill]}`,
    );
    assert.ok(afterKill.length >= 8);
    const lastTen = [...results].sort((a, b) => a.i - b.i).slice(-10);
    assert.ok(
      lastTen.every((r) => r.status === 200),
      `the last ten started succeeded: ${JSON.stringify(lastTen)}`,
    );
    assert.ok((await served(servers[0]!)) - before >= afterKill.length, "the survivor served what came after");
    // The router's health checks notice (interval 10 s, 3 failures), then the replica's return.
    notes.push(`marked unhealthy ${await untilHealth(victim, false, 90_000)} ms after the run`);
    const io = captureIo();
    assert.equal(await runStatusCli(["--router", routerUrl], io, { VLLM_API_KEY: API_KEY }), 1, io.stdout);
    assert.match(io.stdout, /: ready, 1 of 2 workers healthy/);
    assert.match(io.stdout, new RegExp(`^  UNHEALTHY ${servers[victim]!.url}`, "m"));
    await servers[victim]!.stop();
    const t = Date.now();
    servers[victim] = start(victim);
    await servers[victim]!.waitHealthy(600_000);
    notes.push(`replica back (vLLM /health) after ${Date.now() - t} ms`);
    notes.push(`marked healthy again ${await untilHealth(victim, true, 90_000)} ms later`);
    const back = await served(servers[victim]!);
    // Concurrent, as above: idle workers tie and the first takes a request at a time.
    const codes = await Promise.all(Array.from({ length: 8 }, () => chat(routerUrl, distinct(), API_KEY, 48)));
    assert.deepEqual(codes, Array(8).fill(200));
    const again = (await served(servers[victim]!)) - back;
    notes.push(`after the return: ${again} of 8 concurrent requests on it`);
    assert.ok(again > 0, "the returned replica serves requests again");
  });
});
