/**
 * Observability, `status` and `logs` for real on two simulated Sparks (test/rehearsal/lab.ts),
 * with `observability: { enabled: true }`:
 *
 * - The components' own steps bring both hosts up over real SSH (the UMA monitor with the node
 *   metrics writer among them); the installed monitor unit runs once per host the way the sim's
 *   systemctl runs a unit (its ExecStart as root), and writes the textfile from the host's own
 *   /proc/meminfo, /sys counters, GID table, MTU and the docker stand-in's containers.
 * - Debian's `prometheus-node-exporter` binary stands in for the node exporter image: it runs in
 *   each host's namespaces as the image's user (nobody) with exactly the arguments the plan gives
 *   the container (the container's `/` -> `/host` mount has no counterpart: `--path.rootfs=/host`
 *   names a folder that does not exist there, which only the filesystem and os collectors read).
 * - The bench's stand-in engine (vLLM-format /metrics, API key required) listens on the head's
 *   loopback at the serving port, where the plan's scrape config and `status` look for vLLM.
 * - Debian's Prometheus runs on the head, as the plan deploys it (host networking), with the
 *   plan's prometheus.yml and rules.yml unchanged but for the two container paths (rules, API
 *   key file) and its storage folder: its targets are the plan's own, the hosts' management
 *   addresses for the node exporters and the head's loopback for vLLM and itself. Debian's
 *   Alertmanager runs beside it on the head's loopback, where the plan's config sends alerts.
 *
 * Then the real `status` (text and --json) and `logs` (--since, --follow) CLI code paths run over
 * real SSH into both hosts, against the docker stand-in's containers and log files.
 */
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { runLogsCli, runStatusCli } from "../../src/cli/status";
import { checkListeners, closedToManagement, describeListener, parseSs } from "../../src/doctor/listeners";
import { vllmContainerName } from "../../src/plan/container";
import { MONITOR_UNIT } from "../../src/plan/monitor";
import { METRICS_FILE, type ObservabilityPlan } from "../../src/plan/observability";
import type { ClusterPlan } from "../../src/plan/types";
import { WATCHDOG_STATE_DIR } from "../../src/plan/watchdog";
import { shq } from "../../src/shell/quote";
import type { NodeStatus } from "../../src/status";
import { captureIo } from "../bench/support";
import { planSeries } from "../support/promql";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan, WORKER } from "./cluster";
import { type Conn, labUnavailable, SimLab } from "./lab";
import { captureSteps, describe as why, up } from "./runner";

const IN_CI = process.env.CI === "true";
const unavailable =
  labUnavailable() ??
  (["prometheus", "prometheus-node-exporter", "prometheus-alertmanager", "curl", "setpriv"].every(
    (t) => fs.existsSync(`/usr/bin/${t}`) || fs.existsSync(`/bin/${t}`),
  )
    ? undefined
    : "needs Debian's Prometheus, node exporter and Alertmanager (apt-get install prometheus prometheus-node-exporter prometheus-alertmanager curl)");
// In CI the rehearsal must run: a machine that cannot host it fails instead of skipping.
const skip = unavailable && !IN_CI ? `simulated hosts with Prometheus: ${unavailable}` : false;

const API_KEY = "obs-rehearsal-api-key-0123456789abcdef";
const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const STANDIN_JS = path.join(__dirname, "..", "support", "standin.js");
/** MemAvailable the worker reports (kB): under the alert threshold, so its UMA alert expression holds. */
const WORKER_AVAIL_KB = 5 * 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A time `s` seconds from now as docker prints it (RFC 3339 UTC, nanoseconds). */
const at = (s: number) => new Date(Date.now() + s * 1000).toISOString().replace(/Z$/, "000000Z");

type Sample = { metric: Record<string, string>; value: [number, string] };

describe("observability, status and logs on two simulated Sparks", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;
  let obs: ObservabilityPlan;
  let config: Record<string, any>;
  let dir = "";
  let promPort = 0;
  const procs: ChildProcess[] = [];
  const logs: Record<string, string> = {};
  let headAvailKb = 0;

  const connOf = (name: string): Conn => {
    const h = lab.host(name);
    return { host: h.mgmt, user: "spark", privateKey: lab.clientKey, hostKey: h.hostKey };
  };

  /** A long-running process inside a host's namespaces (nsenter execs it: the pid is the process's own). */
  function startIn(host: string, argv: string[], name: string): ChildProcess {
    const log = path.join(dir, `${host}-${name}.log`);
    const fd = fs.openSync(log, "a");
    const p = lab.spawn(host, argv, { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    logs[`${host} ${name}`] = log;
    procs.push(p);
    return p;
  }

  /** Wait until `script` succeeds on `host` (or fail with the named process's log). */
  async function waitOn(host: string, script: string, what: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (lab.exec(host, script).code !== 0) {
      if (Date.now() > end) {
        const tails = Object.entries(logs)
          .map(([k, f]) => `--- ${k}:\n${fs.existsSync(f) ? fs.readFileSync(f, "utf8").slice(-2000) : ""}`)
          .join("\n");
        throw new Error(`${what} did not answer within ${ms} ms\n${tails}`);
      }
      await sleep(250);
    }
  }

  /** The Prometheus HTTP API on the head (from inside the head: it listens where the plan says). */
  function prom(api: string, params: Record<string, string>): any {
    const args = Object.entries(params)
      .map(([k, v]) => `--data-urlencode ${shq(`${k}=${v}`)}`)
      .join(" ");
    const r = lab.exec(HEAD, `curl -sS -m 10 --get ${args} ${shq(`http://127.0.0.1:${promPort}${api}`)}`);
    assert.equal(r.code, 0, `Prometheus ${api}: ${r.stderr}`);
    const j = JSON.parse(r.stdout) as { status: string; data: any; error?: string };
    assert.equal(j.status, "success", `${api} ${JSON.stringify(params)}: ${j.error}`);
    return j.data;
  }
  const query = (expr: string): Sample[] => prom("/api/v1/query", { query: expr }).result as Sample[];
  const nodesOf = (s: Sample[]) => [...new Set(s.map((x) => x.metric.node as string))].sort();

  /** The nodes whose exporter must serve `series` (from the plan: watchdog ones where the watchdog runs). */
  function expectedNodes(series: string): string[] {
    const all = plan.nodes.map((n) => n.name).sort();
    if (series.startsWith("dgx_spark_vllm_watchdog_"))
      return all.filter((n) => obs.nodeMetrics[n]?.watchdog !== undefined);
    if (series.startsWith("vllm:")) return [obs.head];
    return all;
  }

  function cleanup(): void {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }

  before(async () => {
    if (unavailable) throw new Error(`simulated hosts with Prometheus: ${unavailable}`);
    process.on("exit", cleanup);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dsv-obs-rehearsal-"));
    fs.chmodSync(dir, 0o755);
    lab = await SimLab.start(hostSpecs());
    config = rehearsalConfig(lab);
    config.serving.apiKey = API_KEY;
    config.serving.watchdog = { enabled: true };
    config.observability = {
      enabled: true,
      grafana: { adminPassword: "rehearsal-grafana-pw" },
      prometheus: { scrapeIntervalSeconds: 1 },
    };
    plan = rehearsalPlan(config);
    obs = plan.observability as ObservabilityPlan;
    assert.equal(obs.enabled, true);
    promPort = obs.prometheus.port;

    // 1. The bring-up, as `pulumi up` runs the components' commands (the UMA monitor among them).
    const steps = await captureSteps(plan, "obs", lab.clientKey);
    assert.ok(steps.some((s) => s.step === "uma-monitor"));
    const out = await up(lab, steps);
    assert.equal(out.failed, undefined, why(out.failed));

    // 2. What the monitor reads, set on the hosts themselves: the worker low on unified memory,
    // both engine containers running (docker stand-in), one restart in the head watchdog's record.
    lab.must(
      WORKER,
      `m=$(sed 's/^MemAvailable:.*/MemAvailable:   ${WORKER_AVAIL_KB} kB/' /var/lib/dsv-sim/meminfo) && printf '%s\\n' "$m" > /var/lib/dsv-sim/meminfo && grep -q ' ${WORKER_AVAIL_KB} kB' /proc/meminfo`,
    );
    headAvailKb = Number(/^MemAvailable:\s+(\d+)/m.exec(lab.must(HEAD, "cat /proc/meminfo"))?.[1]);
    lab.must(HEAD, `echo "running ${at(-95)} 1 0" > /var/lib/dsv-sim/docker/containers/${vllmContainerName(HEAD)}`);
    lab.must(WORKER, `echo "running ${at(-30)} 0 0" > /var/lib/dsv-sim/docker/containers/${vllmContainerName(WORKER)}`);
    lab.must(
      HEAD,
      `install -d ${WATCHDOG_STATE_DIR} && echo $(( $(date +%s) - 600 )) > ${WATCHDOG_STATE_DIR}/restarts`,
    );

    // 3. The installed monitor unit, started as its timer starts it (sim systemctl: ExecStart as root).
    for (const h of [HEAD, WORKER]) {
      const r = await lab.ssh(connOf(h), `sudo -n systemctl start ${MONITOR_UNIT}.service`);
      assert.equal(r.code, 0, `${h}: ${r.stderr}\n${lab.journal(h)}`);
      assert.equal(lab.must(h, `stat -c %a ${METRICS_FILE}`).trim(), "644", `${h}: the monitor wrote ${METRICS_FILE}`);
    }

    // 4. The node exporter per host, with the container's arguments, as the image's user.
    for (const h of [HEAD, WORKER]) {
      const c = obs.nodeExporters[h];
      assert.ok(c);
      startIn(h, [...NOBODY, "prometheus-node-exporter", ...c.command], "node-exporter");
    }
    // 5. The stand-in engine where vLLM listens: the plan's --host and serving port (host networking).
    const head = plan.nodes.find((n) => n.name === HEAD)!;
    startIn(
      HEAD,
      [
        process.execPath,
        STANDIN_JS,
        JSON.stringify({
          host: head.serveArgv[head.serveArgv.indexOf("--host") + 1],
          port: plan.cluster.port,
          servedName: plan.model.servedName,
          apiKey: API_KEY,
          metricsRequireKey: true,
          behavior: { tokenIntervalMs: 20 },
        }),
      ],
      "standin",
    );
    // 6. Prometheus on the head with the plan's files (two container paths made local) and command.
    const pdir = path.join(dir, "prometheus");
    fs.mkdirSync(path.join(pdir, "tsdb"), { recursive: true });
    const file = (suffix: string) =>
      obs.files[Object.keys(obs.files).find((f) => f.endsWith(suffix)) as string] as string;
    const planned = file("/prometheus.yml");
    for (const p of ['"/etc/prometheus/rules.yml"', '"/etc/prometheus/api-key"'])
      assert.ok(planned.includes(p), `the plan's prometheus.yml names ${p}`);
    fs.writeFileSync(
      path.join(pdir, "prometheus.yml"),
      planned
        .replace('"/etc/prometheus/rules.yml"', JSON.stringify(path.join(pdir, "rules.yml")))
        .replace('"/etc/prometheus/api-key"', JSON.stringify(path.join(pdir, "api-key"))),
    );
    fs.writeFileSync(path.join(pdir, "rules.yml"), file("/rules.yml"));
    fs.writeFileSync(path.join(pdir, "api-key"), API_KEY, { mode: 0o400 });
    for (const f of ["", "tsdb", "prometheus.yml", "rules.yml", "api-key"])
      fs.chownSync(path.join(pdir, f), 65534, 65534);
    const command = obs.prometheus.command.map((a) =>
      a.startsWith("--config.file=")
        ? `--config.file=${path.join(pdir, "prometheus.yml")}`
        : a.startsWith("--storage.tsdb.path=")
          ? `--storage.tsdb.path=${path.join(pdir, "tsdb")}`
          : a,
    );
    startIn(HEAD, [...NOBODY, "prometheus", ...command], "prometheus");
    // 7. Alertmanager where the plan's prometheus.yml sends alerts (the head's loopback), with the
    // config the head's config step writes when no webhook is set (the template as it is).
    const adir = path.join(dir, "alertmanager");
    fs.mkdirSync(path.join(adir, "data"), { recursive: true });
    fs.writeFileSync(path.join(adir, "alertmanager.yml"), file("/alertmanager.yml.in"));
    for (const f of ["", "data", "alertmanager.yml"]) fs.chownSync(path.join(adir, f), 65534, 65534);
    const amCommand = obs.alertmanager.command.map((a) =>
      a.startsWith("--config.file=")
        ? `--config.file=${path.join(adir, "alertmanager.yml")}`
        : a.startsWith("--storage.path=")
          ? `--storage.path=${path.join(adir, "data")}`
          : a,
    );
    startIn(HEAD, [...NOBODY, "prometheus-alertmanager", ...amCommand], "alertmanager");

    await waitOn(HEAD, `curl -fsS -m 2 http://127.0.0.1:${plan.cluster.port}/health`, "the stand-in engine", 20_000);
    for (const h of [HEAD, WORKER])
      await waitOn(
        h,
        `curl -fsS -m 2 -o /dev/null http://${obs.nodeExporters[h]?.bind}:${obs.nodeExporters[h]?.port}/metrics`,
        `${h}'s node exporter`,
        20_000,
      );
    await waitOn(HEAD, `curl -fsS -m 2 http://127.0.0.1:${promPort}/-/ready`, "Prometheus", 30_000);
    await waitOn(HEAD, `curl -fsS -m 2 http://127.0.0.1:${obs.alertmanager.port}/-/ready`, "Alertmanager", 20_000);

    // 8. Traffic while Prometheus scrapes every second (the latency histograms need requests).
    const body = JSON.stringify({
      model: plan.model.servedName,
      stream: true,
      messages: [{ role: "user", content: "hello" }],
      max_tokens: 16,
    });
    lab.must(
      HEAD,
      `printf 'Authorization: Bearer %s\\n' ${shq(API_KEY)} > /root/obs-auth; (timeout 8 bash -c 'while :; do for j in 1 2 3; do curl -sN -m 5 -H @/root/obs-auth -H "content-type: application/json" -d ${shq(body).replace(/'/g, "'\\''")} http://127.0.0.1:${plan.cluster.port}/v1/chat/completions >/dev/null & done; wait; done') >/dev/null 2>&1 </dev/null &`,
    );
    await sleep(8_500);
    lab.must(HEAD, "rm -f /root/obs-auth");
    // Scrapes run late on a loaded machine: wait (at most 30 s) until every panel and series has data.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const empty = obs.panels.flatMap((p) => p.targets.map((t) => t.expr)).filter((e) => query(e).length === 0);
      const partial = planSeries(obs).filter(
        (n) => nodesOf(query(`{__name__=${JSON.stringify(n)}}`)).join() !== expectedNodes(n).join(),
      );
      if ((empty.length === 0 && partial.length === 0) || Date.now() > deadline) break;
      await sleep(1_000);
    }
  });

  after(() => {
    cleanup();
    process.removeListener("exit", cleanup);
    lab?.stop();
  });

  it("Prometheus scrapes the plan's targets: vLLM and itself on the head, both hosts' node exporters at their management addresses, all up", () => {
    const up = query("up").map((u) => `${u.metric.job} ${u.metric.node} ${u.metric.instance}=${u.value[1]}`);
    assert.deepEqual(up.sort(), [
      `node ${HEAD} ${lab.host(HEAD).mgmt}:${obs.nodeExporters[HEAD]?.port}=1`,
      `node ${WORKER} ${lab.host(WORKER).mgmt}:${obs.nodeExporters[WORKER]?.port}=1`,
      `prometheus ${HEAD} 127.0.0.1:${promPort}=1`,
      `vllm ${HEAD} 127.0.0.1:${plan.cluster.port}=1`,
    ]);
    // Both exporters read the monitor's textfile without error.
    const textfile = query("node_textfile_scrape_error");
    assert.deepEqual(nodesOf(textfile), [HEAD, WORKER]);
    assert.ok(
      textfile.every((s) => s.value[1] === "0"),
      JSON.stringify(textfile),
    );
  });

  it("every listening socket on both hosts is in the plan's port table, none wider; the ports it keeps off the management network refuse the lab namespace", () => {
    for (const h of [HEAD, WORKER]) {
      const rows = plan.exposure.filter((r) => r.node === h);
      const sockets = parseSs(lab.must(h, "ss -ltnupH"));
      const f = checkListeners(rows, sockets);
      assert.deepEqual(f.unlisted.map(describeListener), [], `${h}: sockets the table does not list`);
      assert.deepEqual(
        f.wider.map((w) => `${describeListener(w.socket)} (table: ${w.row.bind})`),
        [],
        `${h}: sockets bound wider than the table says`,
      );
      // What this rehearsal runs: sshd, the node exporter, and on the head the engine, Prometheus, Alertmanager.
      const ports = new Set(f.matched.map((x) => x.port));
      const want = [
        22,
        obs.nodeExporters[h]!.port,
        ...(h === HEAD ? [plan.cluster.port, promPort, obs.alertmanager.port] : []),
      ];
      for (const p of want)
        assert.ok(ports.has(p), `${h}: nothing listens on ${p}: ${sockets.map(describeListener).join(", ")}`);
      // From the management network (the lab's own namespace, where SSH comes from too).
      const mgmt = lab.host(h).mgmt;
      const closed = closedToManagement(rows, sockets, mgmt);
      if (h === HEAD)
        assert.deepEqual(
          closed,
          [promPort, obs.alertmanager.port].sort((a, b) => a - b),
        );
      const tcp = (port: number) =>
        spawnSync("ip", ["netns", "exec", lab.labNs, "timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${mgmt}/${port}`])
          .status;
      for (const p of closed) assert.notEqual(tcp(p), 0, `${h}: port ${p} answers the management network`);
      // ... while the ones meant for it answer there (the exporter Prometheus scrapes, the engine's API).
      for (const p of [obs.nodeExporters[h]!.port, ...(h === HEAD ? [plan.cluster.port] : [])])
        assert.equal(tcp(p), 0, `${h}: port ${p} does not answer the management network`);
    }
  });

  it("every dashboard panel's query returns data", () => {
    for (const p of obs.panels)
      for (const t of p.targets) assert.ok(query(t.expr).length > 0, `panel "${p.title}": ${t.expr} returned nothing`);
  });

  it("every series a panel or rule reads has data from each node it is per node of (ours from both hosts)", () => {
    const names = planSeries(obs);
    assert.ok(names.includes("dgx_spark_vllm_rdma_port_errors_total") && names.includes("vllm:kv_cache_usage_perc"));
    for (const n of names) {
      const got = nodesOf(query(`{__name__=${JSON.stringify(n)}}`));
      assert.deepEqual(got, expectedNodes(n), `series ${n}: nodes with data`);
    }
  });

  it("the node metrics are the hosts' own: UMA free vs threshold, watchdog, engine container, MTU, GID, RoCE counters", () => {
    const one = (expr: string, node: string) => {
      const s = query(expr).filter((x) => x.metric.node === node);
      assert.equal(s.length, 1, `${expr} on ${node}: ${JSON.stringify(s)}`);
      return Number(s[0]?.value[1]);
    };
    const threshold = plan.hardening.umaAlertThresholdGb * 1024 * 1024 * 1024;
    assert.equal(one("dgx_spark_vllm_uma_available_bytes", HEAD), headAvailKb * 1024);
    assert.equal(one("dgx_spark_vllm_uma_available_bytes", WORKER), WORKER_AVAIL_KB * 1024);
    for (const h of [HEAD, WORKER]) assert.equal(one("dgx_spark_vllm_uma_threshold_bytes", h), threshold);
    // The UMA alert's own expression holds for the worker only.
    const uma = obs.alerts.find((a) => a.alert === "UmaHeadroomLow");
    assert.ok(uma);
    assert.deepEqual(nodesOf(query(uma.expr)), [WORKER]);
    // ... and the real rule evaluation has it pending (its `for` has not passed yet).
    assert.deepEqual(nodesOf(query('ALERTS{alertname="UmaHeadroomLow"}')), [WORKER]);
    assert.equal(one("dgx_spark_vllm_watchdog_restarts_last_hour", HEAD), 1);
    assert.equal(one("dgx_spark_vllm_watchdog_max_restarts_per_hour", HEAD), plan.watchdog.maxRestartsPerHour);
    for (const h of [HEAD, WORKER]) {
      const p = plan.nodes.find((n) => n.name === h)?.dataPlane[0];
      assert.ok(p);
      // The engine container's state, read by the monitor through docker inspect.
      assert.equal(one(`dgx_spark_vllm_container_running{role="engine"}`, h), 1);
      assert.equal(one("dgx_spark_vllm_link_mtu_bytes", h), plan.link.mtu);
      assert.equal(one("dgx_spark_vllm_link_mtu_expected_bytes", h), plan.link.mtu);
      assert.equal(one("dgx_spark_vllm_roce_gid_index", h), lab.rocev2GidIndex(h, p.hca, p.address));
      // The DF pings of the bring-up went over the data-plane link: bytes both ways.
      for (const d of ["tx", "rx"])
        assert.ok(one(`dgx_spark_vllm_rdma_port_bytes_total{direction="${d}"}`, h) > 0, `${h} ${d} bytes`);
      assert.equal(one("sum by (node) (dgx_spark_vllm_rdma_port_errors_total)", h), 0);
    }
    assert.deepEqual(query(obs.alerts.find((a) => a.alert === "RoceGidMissing")?.expr as string), []);
  });

  it("a RoCE error counter that rises on the worker fires RoceLinkErrorsRising for the worker only, and Alertmanager has it", async () => {
    const hca = plan.nodes.find((n) => n.name === WORKER)?.dataPlane[0]?.hca as string;
    lab.must(WORKER, `echo 7 > /sys/class/infiniband/${hca}/ports/1/counters/symbol_error`);
    const r = await lab.ssh(connOf(WORKER), `sudo -n systemctl start ${MONITOR_UNIT}.service`);
    assert.equal(r.code, 0, r.stderr);
    const end = Date.now() + 20_000;
    let firing: Sample[] = [];
    while (Date.now() < end) {
      firing = query('ALERTS{alertname="RoceLinkErrorsRising",alertstate="firing"}');
      if (firing.length > 0) break;
      await sleep(500);
    }
    assert.deepEqual(
      firing.map((f) => `${f.metric.node} ${f.metric.device}`),
      [`${WORKER} ${hca}`],
    );
    // Prometheus sends it to the Alertmanager its config names (the route's receiver: none without a webhook).
    const amEnd = Date.now() + 15_000;
    let received: { labels: Record<string, string>; receivers: { name: string }[] }[] = [];
    while (Date.now() < amEnd) {
      const r = lab.exec(HEAD, `curl -fsS -m 5 http://127.0.0.1:${obs.alertmanager.port}/api/v2/alerts`);
      received = r.code === 0 ? JSON.parse(r.stdout) : [];
      if (received.some((a) => a.labels.alertname === "RoceLinkErrorsRising")) break;
      await sleep(500);
    }
    const roce = received.filter((a) => a.labels.alertname === "RoceLinkErrorsRising");
    assert.deepEqual(
      roce.map((a) => `${a.labels.node} ${a.labels.severity} ${a.labels.cluster} ${a.receivers.map((x) => x.name)}`),
      [`${WORKER} warning dgx-spark-vllm none`],
    );
  });

  // ---- status and logs over real SSH ------------------------------------------------------------

  let cfgFile = "";
  const ssh = () => ({
    ssh: { sshCommand: ["ip", "netns", "exec", lab.labNs, "ssh"], extraOptions: ["-F", "/dev/null"] },
  });
  const env = () => ({ VLLM_API_KEY: API_KEY });
  const c = (n: string) => `/var/lib/dsv-sim/docker/containers/${vllmContainerName(n)}`;
  const logFile = (n: string) => `/var/lib/dsv-sim/docker/logs/${vllmContainerName(n)}`;
  const width = Math.max(HEAD.length, WORKER.length);
  const pre = (n: string) => `[${n.padEnd(width)}] `;

  it("status --json: per node state, uptime, restarts, UMA free read on the host, watchdog; the head's engine numbers", async () => {
    cfgFile = path.join(dir, "cluster.json");
    fs.writeFileSync(cfgFile, JSON.stringify(config));
    const io = captureIo();
    const code = await runStatusCli(["--config", cfgFile, "--json"], io, env(), { ...ssh(), sampleS: 1 });
    assert.equal(code, 0, io.stderr + io.stdout);
    const nodes = (JSON.parse(io.stdout) as { nodes: NodeStatus[] }).nodes;
    const head = nodes.find((n) => n.node === HEAD);
    const worker = nodes.find((n) => n.node === WORKER);
    assert.ok(head?.reachable && worker?.reachable);
    assert.equal(head.container?.state, "running");
    assert.equal(head.container?.restarts, 1);
    const upHead = head.container?.uptimeS ?? -1;
    assert.ok(upHead >= 95 && upHead < 400, `head uptime ${upHead}`);
    assert.equal(worker.container?.state, "running");
    assert.equal(worker.container?.restarts, 0);
    assert.ok((worker.container?.uptimeS ?? -1) >= 30 && (worker.container?.uptimeS ?? 999) < upHead);
    assert.equal(head.memAvailableGiB, Math.round((headAvailKb / 1024 / 1024) * 10) / 10);
    assert.equal(worker.memAvailableGiB, 5);
    assert.deepEqual(head.watchdog, { state: "active", restartsLastHour: 1 });
    assert.equal(worker.watchdog, undefined);
    assert.ok(head.engine && typeof head.engine.running === "number", "the head's /metrics was read with the key");
  });

  it("status: the screen a user reads, the worker flagged under the UMA threshold", async () => {
    const io = captureIo();
    const code = await runStatusCli(["--config", cfgFile], io, env(), { ...ssh(), sampleS: 1 });
    assert.equal(code, 0, io.stderr);
    const text = io.stdout;
    const thr = plan.hardening.umaAlertThresholdGb;
    assert.match(
      text,
      new RegExp(
        `^${HEAD} \\(head\\)\\n  container  ${vllmContainerName(HEAD)}: running, up \\d+m\\d+s, docker restarts 1$`,
        "m",
      ),
    );
    assert.match(
      text,
      new RegExp(
        `^${WORKER} \\(worker\\)\\n  container  ${vllmContainerName(WORKER)}: running, up \\d+s, docker restarts 0$`,
        "m",
      ),
    );
    assert.match(
      text,
      new RegExp(`^  UMA free   5 GiB of [\\d.]+ GiB  LOW: under the ${thr} GiB alert threshold$`, "m"),
    );
    assert.match(text, /^ {2}UMA free {3}[\d.]+ GiB of [\d.]+ GiB$/m, "the head is not flagged");
    assert.match(
      text,
      new RegExp(`^  watchdog   active, restarts in the last hour 1 of ${plan.watchdog.maxRestartsPerHour}$`, "m"),
    );
    assert.match(text, /^ {2}requests {3}running \d+, waiting \d+ {3}KV cache [\d.]+%$/m);
  });

  it("logs: both ranks' lines interleaved in time order with node prefixes; --since leaves the old ones out", async () => {
    const line = (s: number, text: string) => `${at(s)} ${text}`;
    lab.must(
      HEAD,
      `printf '%s\\n' ${[line(-7200, "head: old line"), line(-6, "head: loading weights"), line(-4, "head: NCCL connected"), line(-2, "head: Application startup complete.")].map(shq).join(" ")} > ${logFile(HEAD)}`,
    );
    lab.must(
      WORKER,
      `printf '%s\\n' ${[line(-7100, "worker: old line"), line(-5, "worker: loading weights"), line(-3, "worker: NCCL connected")].map(shq).join(" ")} > ${logFile(WORKER)}`,
    );
    const io = captureIo();
    assert.equal(await runLogsCli(["--config", cfgFile], io, {}, ssh()), 0, io.stderr);
    assert.deepEqual(io.stdout.trimEnd().split("\n"), [
      `${pre(HEAD)}head: old line`,
      `${pre(WORKER)}worker: old line`,
      `${pre(HEAD)}head: loading weights`,
      `${pre(WORKER)}worker: loading weights`,
      `${pre(HEAD)}head: NCCL connected`,
      `${pre(WORKER)}worker: NCCL connected`,
      `${pre(HEAD)}head: Application startup complete.`,
    ]);
    const since = captureIo();
    assert.equal(await runLogsCli(["--config", cfgFile, "--since", "30m"], since, {}, ssh()), 0, since.stderr);
    assert.deepEqual(since.stdout.trimEnd().split("\n"), io.stdout.trimEnd().split("\n").slice(2));
    const tail = captureIo();
    assert.equal(await runLogsCli(["--config", cfgFile, "--tail", "1"], tail, {}, ssh()), 0, tail.stderr);
    assert.deepEqual(tail.stdout.trimEnd().split("\n"), [
      `${pre(WORKER)}worker: NCCL connected`,
      `${pre(HEAD)}head: Application startup complete.`,
    ]);
  });

  it("logs --follow: new lines of both ranks as they are written, until stopped; the worker's stream ends when its container stops", async () => {
    const io = captureIo();
    const ac = new AbortController();
    const t0 = Date.now();
    const done = runLogsCli(["--config", cfgFile, "--follow", "--tail", "1"], io, {}, { ...ssh(), signal: ac.signal });
    const waitFor = async (text: string) => {
      const end = Date.now() + 15_000;
      while (!io.stdout.includes(text)) {
        assert.ok(Date.now() < end, `"${text}" did not arrive; got:\n${io.stdout}${io.stderr}`);
        await sleep(100);
      }
    };
    await waitFor("head: Application startup complete.");
    await waitFor("worker: NCCL connected");
    lab.must(WORKER, `printf '%s\\n' ${shq(`${at(0)} worker: step 1`)} >> ${logFile(WORKER)}`);
    await waitFor(`${pre(WORKER)}worker: step 1`);
    lab.must(HEAD, `printf '%s\\n' ${shq(`${at(0)} head: step 1`)} >> ${logFile(HEAD)}`);
    await waitFor(`${pre(HEAD)}head: step 1`);
    // The worker's container stops: its last line arrives and its stream ends; the head's goes on.
    lab.must(
      WORKER,
      `printf '%s\\n' ${shq(`${at(0)} worker: exiting`)} >> ${logFile(WORKER)}; echo "exited ${at(-30)} 0 137" > ${c(WORKER)}`,
    );
    await waitFor(`${pre(WORKER)}worker: exiting`);
    const ended = Date.now() + 5_000;
    while (lab.exec(WORKER, `pgrep -f '[d]ocker logs .*--follow.* ${vllmContainerName(WORKER)}$'`).code === 0) {
      assert.ok(Date.now() < ended, "the worker's docker logs --follow ended with its container");
      await sleep(100);
    }
    assert.equal(
      lab.exec(HEAD, `pgrep -f '[d]ocker logs .*--follow.* ${vllmContainerName(HEAD)}$'`).code,
      0,
      "the head's stream goes on",
    );
    lab.must(HEAD, `printf '%s\\n' ${shq(`${at(0)} head: step 2`)} >> ${logFile(HEAD)}`);
    await waitFor(`${pre(HEAD)}head: step 2`);
    const stopped = Date.now();
    ac.abort();
    assert.equal(await done, 0);
    assert.ok(Date.now() - stopped < 3_000, "stopping --follow returns at once");
    assert.ok(Date.now() - t0 < 40_000);
    // The two tails arrive in either order (one stream per node); every later line in the order written.
    const got = io.stdout.trimEnd().split("\n");
    assert.deepEqual(got.slice(0, 2).sort(), [
      `${pre(HEAD)}head: Application startup complete.`,
      `${pre(WORKER)}worker: NCCL connected`,
    ]);
    assert.deepEqual(got.slice(2), [
      `${pre(WORKER)}worker: step 1`,
      `${pre(HEAD)}head: step 1`,
      `${pre(WORKER)}worker: exiting`,
      `${pre(HEAD)}head: step 2`,
    ]);
  });

  it("status: the stopped worker shown as exited with its exit code (exit 1)", async () => {
    const io = captureIo();
    const code = await runStatusCli(["--config", cfgFile], io, env(), { ...ssh(), sampleS: 1 });
    assert.equal(code, 1, "a rank is not running");
    assert.match(
      io.stdout,
      new RegExp(`^  container  ${vllmContainerName(WORKER)}: exited, exit code 137, docker restarts 0$`, "m"),
    );
    assert.match(io.stdout, new RegExp(`^  container  ${vllmContainerName(HEAD)}: running, up `, "m"));
  });

  it("an unreachable worker (its network gone) is reported as such, without hanging; the head still answers", async () => {
    const w = lab.host(WORKER);
    lab.must(WORKER, "ip link set eth0 down");
    try {
      const t0 = Date.now();
      const io = captureIo();
      const code = await runStatusCli(["--config", cfgFile, "--json"], io, env(), { ...ssh(), sampleS: 1 });
      const took = (Date.now() - t0) / 1000;
      assert.ok(took < 25, `status answered in ${took.toFixed(1)} s`);
      assert.equal(code, 1);
      const nodes = (JSON.parse(io.stdout) as { nodes: NodeStatus[] }).nodes;
      const worker = nodes.find((n) => n.node === WORKER);
      assert.equal(worker?.reachable, false);
      assert.match(
        worker?.error ?? "",
        new RegExp(`${w.mgmt.replace(/\./g, "\\.")}|timed out|No route|unreachable`, "i"),
      );
      assert.equal(nodes.find((n) => n.node === HEAD)?.container?.state, "running");
      const text = captureIo();
      await runStatusCli(["--config", cfgFile], text, env(), { ...ssh(), sampleS: 1 });
      assert.match(text.stdout, new RegExp(`^${WORKER} \\(worker\\)\\n  unreachable: .+$`, "m"));
      const l = captureIo();
      const t1 = Date.now();
      assert.equal(await runLogsCli(["--config", cfgFile], l, {}, ssh()), 1);
      assert.ok(Date.now() - t1 < 25_000, "logs did not hang");
      assert.match(l.stdout, /head: Application startup complete\./);
      assert.match(l.stderr, new RegExp(`^logs: ${WORKER}: .+`, "m"));
    } finally {
      lab.must(WORKER, `ip link set eth0 up && ip route replace 10.231.0.0/16 via ${w.mgmt.replace(/\.2$/, ".1")}`);
    }
  });
});
