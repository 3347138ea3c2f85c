import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { judgeLogs, logsGate, sshDockerLogs } from "../../src/gate/logs";
import { SshSession } from "../../src/ssh";
import { fakeSsh, tempDir } from "../bench/support";

const GOOD = [
  "INFO 06-01 12:00:00 [config.py:100] Initializing a V1 LLM engine with config: model='deepseek-ai/DeepSeek-V4-Flash', kv_cache_dtype=fp8, block_size=256",
  "spark-head:123:456 [0] NCCL INFO NET/IB : Using [0]rocep1s0f1:1/RoCE [1]roceP2p1s0f1:1/RoCE ; OOB enP7s7:10.0.0.1<0>",
  "INFO 06-01 12:01:00 Application startup complete.",
].join("\n");

test("good logs pass: NET/IB, the fp8 KV dtype, no fallback markers", () => {
  assert.deepEqual(judgeLogs(GOOD, "fp8").problems, []);
  assert.deepEqual(
    judgeLogs("Using fp8_e4m3 data type to store kv cache\nNCCL INFO NET/IB : Using", "fp8").problems,
    [],
  );
});

test("each missing or forbidden marker is its own problem, quoting the line", () => {
  const socket = GOOD.replace(
    "NET/IB : Using [0]rocep1s0f1:1/RoCE [1]roceP2p1s0f1:1/RoCE",
    "NET/Socket : Using [0]enP7s7:192.168.1.10<0>",
  );
  assert.match(judgeLogs(socket, "fp8").problems.join("\n"), /NET\/Socket is there: NCCL fell back to TCP/);
  assert.match(
    judgeLogs(GOOD.replace(/^.*NET\/IB.*$/m, ""), "fp8").problems.join("\n"),
    /no NET\/IB in the logs.*NCCL_DEBUG=INFO/,
  );
  assert.match(
    judgeLogs(GOOD.replace("kv_cache_dtype=fp8", "kv_cache_dtype=auto"), "fp8").problems.join("\n"),
    /KV cache dtype is auto, expected fp8/,
  );
  const fallback = `${GOOD}\nWARNING [fused_moe.py:12] Your GPU does not support this kernel; we fall back to the Triton path`;
  const p = judgeLogs(fallback, "fp8").problems;
  assert.equal(p.length, 1);
  assert.match(p[0] ?? "", /forbidden marker 'fall back to': WARNING \[fused_moe.py:12\]/);
  assert.equal(judgeLogs(`${GOOD}\nUsing MarlinFP8 kernel`, "fp8").problems.length, 1);
});

test("logs are read over SSH with docker logs <container> (stdout and stderr), in BatchMode", async () => {
  const dir = tempDir();
  const ssh = fakeSsh(dir);
  // vLLM logs to stderr, NCCL to stdout: docker logs replays each on its own stream.
  const lines = GOOD.split("\n");
  writeFileSync(join(dir, "docker.log"), lines.filter((l) => l.includes("NCCL")).join("\n"));
  writeFileSync(join(dir, "docker.stderr.log"), lines.filter((l) => !l.includes("NCCL")).join("\n"));
  const session = new SshSession({ sshCommand: [ssh] });
  const head = { name: "spark-head", ssh: { host: "spark-head.local", port: 2222, user: "spark" } };
  const r = await logsGate({ source: sshDockerLogs(session, head, "dgx-spark-vllm-spark-head"), kvCacheDtype: "fp8" });
  assert.equal(r.status, "pass", r.problems.join("; "));
  const argv = readFileSync(join(dir, "ssh.log"), "utf8").trim();
  assert.equal(
    argv,
    "-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR " +
      "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no " +
      "-p 2222 spark@spark-head.local -- docker logs dgx-spark-vllm-spark-head",
  );
  writeFileSync(join(dir, "fail"), "");
  const other = { name: "h", ssh: { ...head.ssh, port: 22 } };
  const down = await logsGate({ source: sshDockerLogs(session, other, "c"), kvCacheDtype: "fp8" });
  assert.equal(down.status, "fail");
  assert.match(down.problems.join("\n"), /exit 255 \(ssh: connect to host: No route to host\)/);
});
