/**
 * gate's SSH (the head's docker logs, each node's free memory) connects as the components do: the
 * nodes' pinned host keys, the config's private key (or --identity FILE). A stand-in `ssh` records
 * the argv it was run with and the key file it was handed; no real SSH.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runGateCli } from "../../src/cli/gate";
import type { SshSession } from "../../src/ssh";
import type { GateReport } from "../../src/gate/types";
import { baseConfig } from "../support/fixtures";
import { captureIo, tempDir, withStandin } from "../bench/support";

// A made-up host key line, assembled here so no key-shaped text sits in the repository.
const HOST_KEY = ["ssh-ed25519", `AAAAC3NzaC1lZDI1NTE5${"d".repeat(48)}`].join(" ");
const SHORT = ["--soak-duration", "0.4", "--sample-interval", "0.1", "--health-interval", "0.1"].concat([
  "--concurrency",
  "2",
  "--max-tokens",
  "4",
]);

/** A stand-in ssh: one argv per line in ssh.log, and the content and mode of the -i file in keys.log. */
function recordingSsh(dir: string): string {
  const path = join(dir, "ssh");
  writeFileSync(
    path,
    `#!/bin/sh
echo "$*" >> "${dir}/ssh.log"
prev=""
for a in "$@"; do
  if [ "$prev" = "-i" ]; then echo "mode $(stat -c %a "$a") $(cat "$a")" >> "${dir}/keys.log"; fi
  prev="$a"
done
case "$*" in
  *"cat /proc/meminfo"*) printf 'MemTotal: 127535256 kB\\nMemAvailable: 8000000 kB\\n';;
  *"docker logs"*) echo "kv_cache_dtype=fp8"; echo "NCCL INFO NET/IB : Using [0]rocep1s0f1:1/RoCE";;
  *) echo "unexpected: $*" >&2; exit 1;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** The fixture cluster with one node's host key pinned, as a --config file (its key is plain text). */
function configFile(dir: string, pinned: "head" | "worker" = "worker"): string {
  const c = baseConfig();
  c.nodes[pinned === "head" ? 0 : 1].ssh.hostKey = HOST_KEY;
  const f = join(dir, "cluster.json");
  writeFileSync(f, JSON.stringify(c));
  return f;
}

const lines = (dir: string, file: string) => readFileSync(join(dir, file), "utf8").trim().split("\n");

test("gate --config: logs and memory over SSH check the pinned host key and use the config's key from a 0600 file", async () => {
  await withStandin({ behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const dir = tempDir();
    const ssh = recordingSsh(dir);
    let session: SshSession | undefined;
    const io = captureIo();
    const argv = [
      "--config",
      configFile(dir),
      "--endpoint",
      s.url,
      "--suite",
      "soak,logs",
      "--json",
      "--quiet",
      ...SHORT,
    ];
    const code = await runGateCli(argv, io, { env: {}, sshCommand: ssh, onSession: (x) => (session = x) });
    const report = JSON.parse(io.stdout) as GateReport;
    assert.equal(code, 0, JSON.stringify(report.checks, null, 2));
    const log = lines(dir, "ssh.log");
    const worker = log.filter((l) => l.includes("spark@192.168.1.12 --"));
    const head = log.filter((l) => l.includes("spark@192.168.1.11 --"));
    assert.ok(worker.length > 0 && head.length > 0, log.join("\n"));
    assert.ok(head.some((l) => l.endsWith("-- docker logs dgx-spark-vllm-spark-head")));
    for (const l of worker) {
      const pinned = `-o UserKnownHostsFile=/dev/null -o KnownHostsCommand=/bin/echo %H ${HOST_KEY} -o StrictHostKeyChecking=yes`;
      assert.ok(l.includes(pinned), l);
    }
    for (const l of head) assert.ok(l.includes("-o StrictHostKeyChecking=no"), `no pin on the head: ${l}`);
    for (const l of log) {
      assert.match(
        l,
        /^-o BatchMode=yes .* -o IdentitiesOnly=yes -i \S*dgx-spark-vllm-ssh-\S*\/key-[0-9a-f]{12} -p 22 /,
      );
      assert.ok(!l.includes("FAKE KEY"), "the key text is never on the command line");
    }
    assert.deepEqual([...new Set(lines(dir, "keys.log"))], ["mode 600 -----FAKE KEY FOR TESTS-----"]);
    assert.ok(session, "the CLI made a session");
    const keyFile = /-i (\S+)/.exec(log[0] as string)?.[1] as string;
    assert.ok(!existsSync(keyFile), "the key file is removed when the gate ends");
    assert.ok(!io.stderr.includes("FAKE KEY") && !io.stdout.includes("FAKE KEY"), "the key never shows");
  });
});

test("gate --identity FILE: that key for every node, the pins still checked", async () => {
  const dir = tempDir();
  const ssh = recordingSsh(dir);
  const identity = join(dir, "id_spark");
  writeFileSync(identity, "IDENTITY FILE TEXT\n", { mode: 0o600 });
  const io = captureIo();
  const argv = ["--config", configFile(dir, "head"), "--suite", "logs", "--identity", identity, "--quiet"];
  const code = await runGateCli(argv, io, { env: {}, sshCommand: ssh });
  assert.equal(code, 0, io.stdout + io.stderr);
  const log = lines(dir, "ssh.log");
  assert.equal(log.length, 1, "logs only: one ssh to the head");
  assert.equal(
    log[0],
    "-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR " +
      `-o UserKnownHostsFile=/dev/null -o KnownHostsCommand=/bin/echo %H ${HOST_KEY} -o StrictHostKeyChecking=yes ` +
      `-o IdentitiesOnly=yes -i ${identity} -p 22 ` +
      "spark@192.168.1.11 -- docker logs dgx-spark-vllm-spark-head",
  );
  assert.deepEqual(lines(dir, "keys.log"), ["mode 600 IDENTITY FILE TEXT"]);
});

test("gate --identity: needs the nodes and a readable file (exit 2)", async () => {
  const dir = tempDir();
  const cases: [string[], RegExp][] = [
    [
      ["--endpoint", "http://127.0.0.1:1", "--suite", "boot", "--max-model-len", "1000", "--identity", "/x"],
      /--identity is for SSH to the nodes/,
    ],
    [
      ["--config", configFile(dir), "--suite", "boot", "--identity", "/nonexistent/key"],
      /--identity: cannot read \/nonexistent\/key/,
    ],
  ];
  for (const [argv, msg] of cases) {
    const io = captureIo();
    assert.equal(await runGateCli(argv, io, { env: {} }), 2, argv.join(" "));
    assert.match(io.stderr, msg, argv.join(" "));
  }
});
