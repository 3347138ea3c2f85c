/**
 * Our node metrics (src/host/node-metrics.sh), called for real by bash over fixture sysfs trees
 * and a fixture watchdog state folder; the output is checked by `promtool check metrics` (the
 * Debian package's parser) where promtool is installed, and must be shellcheck clean as rendered
 * into the UMA monitor.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { planFromInput } from "../../src/plan";
import { monitorCheckScript } from "../../src/plan/monitor";
import { nodeMetricsVars, type ObservabilityPlan } from "../../src/plan/observability";
import { HOST_DIR, varBlock } from "../../src/shell/host";
import { shq } from "../../src/shell/quote";
import { baseConfig } from "../support/fixtures";
import { writeSysfs } from "../support/sysfs";

const IN_CI = process.env.CI === "true";
const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;
const GID1 = "0000:0000:0000:0000:0000:ffff:0a00:0001";
const NOW = 1_800_000_000;

function plan(extra: Record<string, unknown> = {}) {
  const c = baseConfig();
  c.observability = { enabled: true, grafana: { adminPassword: "pw" } };
  Object.assign(c, extra);
  return planFromInput(c);
}

const dir = mkdtempSync(join(tmpdir(), "dgx-metrics-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sys = join(dir, "sys");
writeSysfs(sys, [
  {
    netdev: "enp1s0f1np1",
    hca: "rocep1s0f1",
    mtu: 9000,
    gids: {
      0: ["fe80:0000:0000:0000:0000:0000:0000:0001", "IB/RoCE v1"],
      1: ["fe80:0000:0000:0000:0000:0000:0000:0001", "RoCE v2"],
      2: [GID1, "IB/RoCE v1"],
      3: [GID1, "RoCE v2"],
    },
    counters: {
      port_rcv_errors: 3,
      symbol_error: 0,
      port_xmit_data: 1000,
      port_rcv_data: 250,
      port_xmit_packets: 42,
      bogus: "n/a",
    },
    hwCounters: { out_of_sequence: 7, packet_seq_err: 2, roce_adp_retrans: 5, np_cnp_sent: 9 },
  },
]);
const wd = join(dir, "watchdog");
spawnSync("mkdir", ["-p", wd]);

/** bash with the rendered variable block of the head's metrics and the host files, docker stubbed. */
function run(body: string, vars: Record<string, unknown> = {}) {
  const p = plan();
  const obs = p.observability as ObservabilityPlan;
  const spec = obs.nodeMetrics["spark-head"];
  assert.ok(spec);
  const block = varBlock({
    NODE: "spark-head",
    THRESHOLD_KB: 6 * 1024 * 1024,
    ...nodeMetricsVars(spec),
    WATCHDOG_DIR: wd,
    METRICS_FILE: join(dir, "out", "dgx_spark_vllm.prom"),
    ...(vars as Record<string, string>),
  });
  const docker = `docker() { case "$*" in *dgx-spark-vllm-spark-head*) echo "true 2026-12-02T10:00:00Z" ;; *) return 1 ;; esac; }`;
  const src = ["gid.sh", "node-metrics.sh"].map((f) => `source ${shq(join(HOST_DIR, f))}`).join("\n");
  const r = spawnSync("bash", ["-c", `set -euo pipefail\n${block}\n${docker}\n${src}\n${body}`], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("node metrics: RDMA counters from counters/ and hw_counters/", () => {
  const r = run(`metrics_rdma ${shq(sys)}`);
  it("exports every numeric counter raw, and skips a file that is not a number", () => {
    assert.equal(r.status, 0, r.err);
    assert.match(
      r.out,
      /^dgx_spark_vllm_rdma_counter\{device="rocep1s0f1",port="1",source="counters",counter="port_rcv_errors"\} 3$/m,
    );
    assert.match(
      r.out,
      /^dgx_spark_vllm_rdma_counter\{device="rocep1s0f1",port="1",source="hw_counters",counter="np_cnp_sent"\} 9$/m,
    );
    assert.doesNotMatch(r.out, /bogus/);
  });
  it("sorts the error and retransmission counters into their own families", () => {
    assert.match(
      r.out,
      /^dgx_spark_vllm_rdma_port_errors_total\{device="rocep1s0f1",port="1",counter="port_rcv_errors"\} 3$/m,
    );
    assert.match(
      r.out,
      /^dgx_spark_vllm_rdma_port_errors_total\{device="rocep1s0f1",port="1",counter="out_of_sequence"\} 7$/m,
    );
    assert.match(r.out, /^dgx_spark_vllm_rdma_port_retransmits_total\{[^}]*counter="packet_seq_err"\} 2$/m);
    assert.match(r.out, /^dgx_spark_vllm_rdma_port_retransmits_total\{[^}]*counter="roce_adp_retrans"\} 5$/m);
    assert.doesNotMatch(r.out, /errors_total\{[^}]*counter="(port_xmit_packets|np_cnp_sent|packet_seq_err)"/);
  });
  it("turns port_xmit_data / port_rcv_data (4-byte words) into bytes", () => {
    assert.match(r.out, /^dgx_spark_vllm_rdma_port_bytes_total\{device="rocep1s0f1",port="1",direction="tx"\} 4000$/m);
    assert.match(r.out, /^dgx_spark_vllm_rdma_port_bytes_total\{device="rocep1s0f1",port="1",direction="rx"\} 1000$/m);
  });
  it("prints nothing on a host without RDMA devices", () => {
    const none = run(`metrics_rdma ${shq(join(dir, "empty"))}`);
    assert.equal(none.status, 0, none.err);
    assert.equal(none.out, "");
  });
});

describe("node metrics: link MTU and the RoCE v2 GID in use", () => {
  it("reports the netdev's MTU beside the configured one, and the index of the address's RoCE v2 GID", () => {
    const r = run(`metrics_link ${shq(sys)}`);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^dgx_spark_vllm_link_mtu_expected_bytes 9000$/m);
    assert.match(r.out, /^dgx_spark_vllm_link_mtu_bytes\{netdev="enp1s0f1np1"\} 9000$/m);
    assert.match(
      r.out,
      /^dgx_spark_vllm_roce_gid_index\{netdev="enp1s0f1np1",hca="rocep1s0f1",address="10.0.0.1"\} 3$/m,
      "index 3: the RoCE v2 entry of the address's GID, not the v1 one at 2",
    );
  });
  it("reports -1 when the GID is missing (the post-reboot quirk)", () => {
    const r = run(`metrics_link ${shq(sys)}`, { GID: ["0000:0000:0000:0000:0000:ffff:0a00:0063"] });
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^dgx_spark_vllm_roce_gid_index\{[^}]*\} -1$/m);
  });
});

describe("node metrics: the watchdog's state", () => {
  it("counts the restarts of the last hour and reports paused and gave-up", () => {
    writeFileSync(join(wd, "restarts"), `${NOW - 4000}\n${NOW - 1200}\n${NOW - 10}\njunk\n`);
    rmSync(join(wd, "paused"), { force: true });
    rmSync(join(wd, "gave-up"), { force: true });
    const r = run(`metrics_watchdog ${shq(wd)} 3 ${NOW}`);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^dgx_spark_vllm_watchdog_restarts_last_hour 2$/m);
    assert.match(r.out, /^dgx_spark_vllm_watchdog_max_restarts_per_hour 3$/m);
    assert.match(r.out, /^dgx_spark_vllm_watchdog_paused 0$/m);
    assert.match(r.out, /^dgx_spark_vllm_watchdog_gave_up 0$/m);
    writeFileSync(join(wd, "paused"), "maintenance\n");
    writeFileSync(join(wd, "gave-up"), "x\n");
    const s = run(`metrics_watchdog ${shq(wd)} 3 ${NOW}`);
    assert.match(s.out, /^dgx_spark_vllm_watchdog_paused 1$/m);
    assert.match(s.out, /^dgx_spark_vllm_watchdog_gave_up 1$/m);
  });
});

describe("node metrics: the whole file", () => {
  it("has the engine running (with its start time) and the sidecar absent", () => {
    const r = run(`node_metrics 8388608 ${shq(sys)} ${NOW}`);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^dgx_spark_vllm_container_running\{role="engine",container="dgx-spark-vllm-spark-head"\} 1$/m);
    assert.match(
      r.out,
      /^dgx_spark_vllm_container_running\{role="sidecar",container="dgx-spark-vllm-drop-caches-spark-head"\} 0$/m,
    );
    assert.match(r.out, /^dgx_spark_vllm_container_started_timestamp_seconds\{role="engine",[^}]*\} 1796205600$/m);
    assert.match(r.out, /^dgx_spark_vllm_uma_available_bytes 8589934592$/m);
    assert.match(r.out, /^dgx_spark_vllm_uma_threshold_bytes 6442450944$/m);
    assert.match(r.out, /^dgx_spark_vllm_node_metrics_timestamp_seconds 1800000000$/m);
  });
  it("is valid text exposition format for Prometheus's own parser (promtool check metrics)", (t) => {
    if (!hasPromtool) {
      if (IN_CI) assert.fail("promtool is not installed (Debian: apt-get install prometheus)");
      t.skip("promtool is not installed");
      return;
    }
    const r = run(`node_metrics 8388608 ${shq(sys)} ${NOW}`);
    const c = spawnSync("promtool", ["check", "metrics"], { input: r.out, encoding: "utf8" });
    // promtool exits 3 for lint hints only (naming advice), 1 for a parse error.
    assert.notEqual(c.status, 1, c.stdout + c.stderr);
    assert.doesNotMatch(c.stdout + c.stderr, /error while linting|parse error|text format parsing error/i);
  });
  it("is replaced atomically: no temporary file is left, the file is world-readable for the exporter", () => {
    const r = run("node_metrics_write 8388608");
    assert.equal(r.status, 0, r.err);
    const out = join(dir, "out");
    assert.deepEqual(readdirSync(out), ["dgx_spark_vllm.prom"]);
    assert.match(
      readFileSync(join(out, "dgx_spark_vllm.prom"), "utf8"),
      /^dgx_spark_vllm_uma_available_bytes 8589934592$/m,
    );
  });
});

describe("node metrics: written by the UMA monitor, only with observability on", () => {
  it("the monitor renders the metrics functions and its last line writes them; without observability it does not", () => {
    const on = plan();
    const obs = on.observability as ObservabilityPlan;
    const withMetrics = monitorCheckScript("spark-head", 6, obs.nodeMetrics["spark-head"]);
    assert.match(withMetrics, /node_metrics_write "\$avail_kb" \|\| logger/);
    assert.match(withMetrics, /^WATCHDOG_DIR=\/var\/lib\/dgx-spark-vllm\/watchdog$/m);
    const worker = monitorCheckScript("spark-worker", 6, obs.nodeMetrics["spark-worker"]);
    assert.match(worker, /^WATCHDOG_DIR=''$/m, "the worker has no watchdog");
    const off = monitorCheckScript("spark-head", 6);
    assert.doesNotMatch(off, /node_metrics/);
    assert.equal(planFromInput(baseConfig()).observability.enabled, false, "off by default");
  });
  it("the rendered monitor is shellcheck clean", (t) => {
    if (spawnSync("shellcheck", ["--version"]).status !== 0) {
      if (IN_CI) assert.fail("shellcheck is not installed");
      t.skip("shellcheck is not installed");
      return;
    }
    const obs = plan().observability as ObservabilityPlan;
    const f = join(dir, "monitor.sh");
    writeFileSync(f, monitorCheckScript("spark-head", 6, obs.nodeMetrics["spark-head"]));
    const r = spawnSync("shellcheck", ["-s", "bash", f], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout);
  });
});

describe("node metrics: the rendered UMA monitor, run whole", () => {
  it("checks the headroom, then writes the metrics file the node exporter reads (paths moved under a scratch folder)", () => {
    const obs = plan().observability as ObservabilityPlan;
    const spec = obs.nodeMetrics["spark-worker"];
    assert.ok(spec);
    const root = join(dir, "monitor-run");
    const text = monitorCheckScript("spark-worker", 0.001, spec)
      .replaceAll("/var/lib/dgx-spark-vllm/", `${root}/var/lib/dgx-spark-vllm/`)
      .replaceAll("/etc/dgx-spark-vllm/", `${root}/etc/dgx-spark-vllm/`);
    const bin = join(dir, "monitor-bin");
    spawnSync("mkdir", ["-p", bin]);
    writeFileSync(join(bin, "docker"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    const r = spawnSync("bash", ["-c", text], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const out = readFileSync(join(root, "var/lib/dgx-spark-vllm/metrics/dgx_spark_vllm.prom"), "utf8");
    const avail = Number(/^dgx_spark_vllm_uma_available_bytes (\d+)$/m.exec(out)?.[1]);
    const meminfo = Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
    assert.ok(Math.abs(avail / 1024 - meminfo) < 4 * 1024 * 1024, "this host's MemAvailable, in bytes");
    assert.match(out, /^dgx_spark_vllm_uma_threshold_bytes 1074176$/m, "0.001 GiB = 1049 KiB");
    assert.match(out, /^dgx_spark_vllm_container_running\{role="engine",container="dgx-spark-vllm-spark-worker"\} 0$/m);
    assert.doesNotMatch(out, /watchdog/, "the worker has no watchdog");
  });
});
