/**
 * `status` and `logs` on a real Docker engine: two real containers of the stand-in image named as
 * the plan names the ranks (one running and logging, one that logged and exited 3), read through
 * the CLI with a stand-in `ssh` that runs the remote command locally, so what is parsed is the
 * real `docker inspect -f` and `docker logs --timestamps` output. The head's /metrics is the
 * bench stand-in engine's. Containers and this run's image tag are removed afterwards.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runLogsCli, runStatusCli } from "../../src/cli/status";
import type { NodeStatus } from "../../src/status";
import { captureIo } from "../bench/support";
import { baseConfig } from "../support/fixtures";
import { type StandinServer, startStandin } from "../support/standin";
import { docker, ensureStandinImage, RUN_ID, removeStandinImage, skipWithoutDocker } from "./support";

const skip = skipWithoutDocker();
const HEAD = `obs${RUN_ID}-head`;
const WORKER = `obs${RUN_ID}-worker`;
const container = (n: string) => `dgx-spark-vllm-${n}`;

describe("status and logs on real containers", { skip: skip ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-status-life-"));
  let image = "";
  let standin: StandinServer;
  let cfg = "";
  const ssh = join(dir, "ssh");

  before(async () => {
    image = ensureStandinImage();
    // The head logs twice, a second apart, and keeps running; the worker logs between and exits 3.
    const head = docker(
      "run",
      "-d",
      "--name",
      container(HEAD),
      "--entrypoint",
      "/usr/bin/node",
      image,
      "-e",
      "console.log('head: loading'); setTimeout(() => console.log('head: Application startup complete.'), 1500); setInterval(() => {}, 1000);",
    );
    assert.equal(head.status, 0, head.err);
    await new Promise((r) => setTimeout(r, 500));
    const worker = docker(
      "run",
      "-d",
      "--name",
      container(WORKER),
      "--entrypoint",
      "/usr/bin/node",
      image,
      "-e",
      "console.error('worker: TCPStore server has shut down'); process.exit(3);",
    );
    assert.equal(worker.status, 0, worker.err);
    await new Promise((r) => setTimeout(r, 2000));
    standin = await startStandin({ behavior: { tokenIntervalMs: 5 } });
    const c = baseConfig();
    c.nodes[0].name = HEAD;
    c.nodes[1].name = WORKER;
    c.serving.port = standin.port;
    cfg = join(dir, "cluster.json");
    writeFileSync(cfg, JSON.stringify(c));
    writeFileSync(ssh, `#!/bin/bash\nargs=("$@"); exec bash -c "\${args[\${#args[@]}-1]}"\n`);
    chmodSync(ssh, 0o755);
  });
  after(async () => {
    if (skip) return;
    docker("rm", "-f", container(HEAD), container(WORKER));
    if (image) removeStandinImage(image);
    await standin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("status reads docker's own inspect output: the running rank's uptime, the exited one's code", async () => {
    const io = captureIo();
    const code = await runStatusCli(["--config", cfg, "--json"], io, {}, { ssh: { sshCommand: [ssh] }, sampleS: 1 });
    assert.equal(code, 1, "a rank is not running");
    const [head, worker] = (JSON.parse(io.stdout) as { nodes: NodeStatus[] }).nodes as [NodeStatus, NodeStatus];
    assert.equal(head.container?.state, "running");
    assert.ok(
      (head.container?.uptimeS ?? -1) >= 1 && (head.container?.uptimeS ?? 99) < 120,
      `${head.container?.uptimeS}`,
    );
    assert.equal(head.container?.restarts, 0);
    assert.equal(worker.container?.state, "exited");
    assert.equal(worker.container?.exitCode, 3);
    assert.ok(head.engine && typeof head.engine.running === "number", "the stand-in's /metrics was read");
  });

  it("logs interleaves docker's timestamped lines of both ranks in time order, stderr included", async () => {
    const io = captureIo();
    const code = await runLogsCli(["--config", cfg], io, {}, { ssh: { sshCommand: [ssh] } });
    assert.equal(code, 0, io.stderr);
    const w = Math.max(HEAD.length, WORKER.length);
    assert.deepEqual(io.stdout.trimEnd().split("\n"), [
      `[${HEAD.padEnd(w)}] head: loading`,
      `[${WORKER.padEnd(w)}] worker: TCPStore server has shut down`,
      `[${HEAD.padEnd(w)}] head: Application startup complete.`,
    ]);
  });
});
