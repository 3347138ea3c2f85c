/**
 * `status` and `logs` end to end through the CLI: the status script and the logs commands run for
 * real in bash, reached through a stand-in `ssh` that runs the remote command locally (the argv
 * SshSession builds, the API key on stdin); `docker` is a stub printing what `docker inspect -f`
 * and `docker logs --timestamps` print; the head's /metrics is the stand-in engine's (vLLM format,
 * API key required), with real traffic between the two samples.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runLogsCli, runStatusCli } from "../../src/cli/status";
import { planFromInput } from "../../src/plan";
import { formatDuration, interleave, type NodeStatus, parseStatus, renderStatus, statusScript } from "../../src/status";
import { spawnSync } from "node:child_process";
import { captureIo } from "../bench/support";
import { baseConfig } from "../support/fixtures";
import { type StandinServer, startStandin } from "../support/standin";

const KEY = "status-test-api-key-42";
const dir = mkdtempSync(join(tmpdir(), "dgx-status-"));
const bin = join(dir, "bin");
const wd = join(dir, "watchdog");
mkdirSync(bin);
mkdirSync(wd);
let standin: StandinServer;
let cfgFile = "";

/** ssh stand-in: the last argument is the remote command; the destination names the node. */
const ssh = join(dir, "ssh");
writeFileSync(
  ssh,
  `#!/bin/bash
echo "$*" >> ${dir}/ssh.log
args=("$@"); n=\${#args[@]}
export NODE_HOST=\${args[n-3]#*@}
export PATH=${bin}:$PATH DGX_SPARK_VLLM_WATCHDOG_DIR=${wd}
exec bash -c "\${args[n-1]}"
`,
);
chmodSync(ssh, 0o755);
writeFileSync(
  join(bin, "docker"),
  `#!/bin/bash
case "$1 $NODE_HOST" in
  "inspect 192.168.1.11") echo "running 2026-12-02T10:00:00.123456789Z 0 0" ;;
  "inspect 192.168.1.12") echo "exited 2026-12-02T09:00:00.5Z 2 137" ;;
  "logs 192.168.1.11") case "$*" in *--follow*--since=1s*) echo "2026-12-02T10:00:09Z streaming"; exec sleep 3 ;; esac; printf '%s\\n' "2026-12-02T10:00:01.000000002Z INFO head starts" "2026-12-02T10:00:03.5Z INFO Application startup complete." ;;
  "logs 192.168.1.12") printf '%s\\n' "2026-12-02T10:00:02.25Z INFO worker joins" "  continuation of the worker line" ;;
  *) echo "docker stub: $*" >&2; exit 1 ;;
esac
`,
);
chmodSync(join(bin, "docker"), 0o755);

before(async () => {
  standin = await startStandin({ apiKey: KEY, metricsRequireKey: true, behavior: { tokenIntervalMs: 5 } });
  const c = baseConfig();
  c.serving.port = standin.port;
  cfgFile = join(dir, "cluster.json");
  writeFileSync(cfgFile, JSON.stringify(c));
  writeFileSync(
    join(wd, "restarts"),
    `${Math.floor(Date.now() / 1000) - 60}\n${Math.floor(Date.now() / 1000) - 7200}\n`,
  );
});
after(async () => {
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
});

const hooks = () => ({ ssh: { sshCommand: [ssh] }, sampleS: 1 });

describe("status", () => {
  it("--json: every node's container, memory, the watchdog, and the head's engine with tok/s measured over real traffic", async () => {
    const io = captureIo();
    const traffic = (async () => {
      const end = Date.now() + 2500;
      while (Date.now() < end)
        await fetch(`${standin.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "deepseek-v4", stream: true, messages: [{ role: "user", content: "hi" }] }),
        }).then((r) => r.text());
    })();
    const code = await runStatusCli(["--config", cfgFile, "--json"], io, { VLLM_API_KEY: KEY }, hooks());
    await traffic;
    const out = JSON.parse(io.stdout) as { nodes: NodeStatus[] };
    const [head, worker] = out.nodes as [NodeStatus, NodeStatus];
    assert.equal(code, 1, "the worker's container is not running");
    assert.equal(head.container?.state, "running");
    assert.equal(head.container?.restarts, 0);
    assert.ok((head.container?.uptimeS ?? 0) > 0);
    assert.equal(worker.container?.state, "exited");
    assert.equal(worker.container?.exitCode, 137);
    assert.equal(worker.container?.restarts, 2);
    assert.ok((head.memAvailableGiB ?? 0) > 0, "MemAvailable read from the (local) /proc/meminfo");
    assert.deepEqual(head.watchdog, { state: "active", restartsLastHour: 1 });
    assert.equal(worker.watchdog, undefined, "the watchdog lives on the head");
    assert.ok(head.engine, "the head's /metrics answered with the API key");
    assert.ok((head.engine?.generationTokS ?? 0) > 0, `generation tok/s ${head.engine?.generationTokS}`);
    assert.equal(typeof head.engine?.kvUsage, "number");
    assert.ok(standin.requests.some((r) => r.path === "/metrics" && r.authorized));
  });

  it("without the API key the head's /metrics refuses, and the screen says so instead of inventing numbers", async () => {
    const io = captureIo();
    await runStatusCli(["--config", cfgFile], io, {}, hooks());
    assert.match(
      io.stdout,
      /spark-head \(head\)\n {2}container {2}dgx-spark-vllm-spark-head: running, up \S+, docker restarts 0/,
    );
    assert.match(io.stdout, /engine {5}\/metrics did not answer/);
    assert.match(
      io.stdout,
      /spark-worker \(worker\)\n {2}container {2}dgx-spark-vllm-spark-worker: exited, exit code 137, docker restarts 2/,
    );
  });

  it("an unreachable node is shown as such, the others still are", () => {
    const plan = planFromInput(baseConfig());
    const [head, worker] = plan.nodes;
    const s = [
      parseStatus(head as never, "", "ssh: connect to host 192.168.1.11 port 22: No route to host"),
      parseStatus(
        worker as never,
        "@node w\n@container running 2026-12-02T10:00:00Z 0 0\n@now 1796205660\n@mem_available_kb 4194304\n@mem_total_kb 127535256\n@end\n",
      ),
    ];
    const text = renderStatus(s, plan, "now");
    assert.match(
      text,
      /spark-head \(head\)\n {2}unreachable: ssh: connect to host 192\.168\.1\.11 port 22: No route to host/,
    );
    assert.match(text, /running, up 1m0s/);
    assert.match(text, /UMA free {3}4 GiB of 121\.6 GiB {2}LOW: under the 6 GiB alert threshold/);
  });

  it("--watch redraws until stopped; bad values are refused", async () => {
    const io = captureIo();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 2500);
    await runStatusCli(
      ["--config", cfgFile, "--watch", "0.5", "--json"],
      io,
      { VLLM_API_KEY: KEY },
      {
        ...hooks(),
        signal: stop.signal,
      },
    );
    const rounds = io.stdout.trim().split("\n");
    assert.ok(rounds.length >= 2, `${rounds.length} rounds`);
    for (const r of rounds) assert.equal((JSON.parse(r) as { nodes: unknown[] }).nodes.length, 2);
    const bad = captureIo();
    assert.equal(await runStatusCli(["--config", cfgFile, "--watch=0"], bad, {}, hooks()), 2);
    assert.match(bad.stderr, /--watch: expected a number of seconds above 0/);
  });

  it("durations read like uptime", () => {
    assert.deepEqual([5, 65, 3700, 90000].map(formatDuration), ["5s", "1m5s", "1h1m", "1d1h"]);
  });
});

describe("logs", () => {
  it("interleaves both ranks by time with a node prefix; a continuation line stays with its node", async () => {
    const io = captureIo();
    const code = await runLogsCli(["--config", cfgFile, "--since", "10m"], io, {}, hooks());
    assert.equal(code, 0, io.stderr);
    assert.deepEqual(io.stdout.trimEnd().split("\n"), [
      "[spark-head  ] INFO head starts",
      "[spark-worker] INFO worker joins",
      "[spark-worker]   continuation of the worker line",
      "[spark-head  ] INFO Application startup complete.",
    ]);
  });
  it("passes --since and --follow to docker logs, and rejects what could reach the shell", async () => {
    const io = captureIo();
    const code = await runLogsCli(["--config", cfgFile, "--follow", "--since", "2026-12-02T10:00:00"], io, {}, hooks());
    assert.equal(code, 0);
    assert.match(io.stdout, /^\[spark-worker\] INFO worker joins$/m);
    const bad = captureIo();
    assert.equal(await runLogsCli(["--config", cfgFile, "--since", "1m; rm -rf /"], bad, {}, hooks()), 2);
    assert.match(bad.stderr, /--since: expected a duration/);
  });
  it("--follow streams until stopped (Ctrl-C in the CLI), then ends cleanly", async () => {
    const io = captureIo();
    const stop = new AbortController();
    const t0 = Date.now();
    setTimeout(() => stop.abort(), 800);
    const code = await runLogsCli(
      ["--config", cfgFile, "--follow", "--since", "1s"],
      io,
      {},
      { ...hooks(), signal: stop.signal },
    );
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 2500, "stopped on the signal, not when the stream ended");
    assert.match(io.stdout, /^\[spark-head {2}\] streaming$/m);
  });
  it("sorts fractional timestamps of different lengths by time", () => {
    const lines = interleave([
      { node: "a", text: "2026-12-02T10:00:00.5Z late\n" },
      { node: "b", text: "2026-12-02T10:00:00.123456789Z early\n" },
    ]);
    assert.deepEqual(lines, ["[b] early", "[a] late"]);
  });
});

describe("the status script", () => {
  it("is shellcheck clean on the head and a worker, and holds no API key", (t) => {
    if (spawnSync("shellcheck", ["--version"]).status !== 0) {
      if (process.env.CI === "true") assert.fail("shellcheck is not installed");
      t.skip("shellcheck is not installed");
      return;
    }
    const c = baseConfig();
    const plan = planFromInput(c);
    for (const n of plan.nodes) {
      const s = statusScript(plan, n);
      assert.ok(!s.includes(c.serving.apiKey));
      const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: `#!/bin/bash\n${s}`, encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout);
    }
  });
});
