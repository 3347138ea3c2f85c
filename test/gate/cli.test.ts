import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runGateCli } from "../../src/cli/gate";
import type { GateReport } from "../../src/gate/types";
import { captureIo, closedPort, fakeSsh, tempDir, withStandin } from "../bench/support";

const SHORT = [
  // Sub-second soaks here: judge their memory slope anyway (the default would call them inconclusive).
  "--soak-min-verdict",
  "0",
  // A needle prompt the stand-in answers in milliseconds (the default is max_model_len - 1024).
  "--max-depth",
  "4000",
  "--mtp-duration",
  "0.4",
  "--soak-duration",
  "0.5",
  "--sample-interval",
  "0.1",
  "--health-interval",
  "0.1",
  "--concurrency",
  "3",
  "--max-tokens",
  "8",
  "--first-token-timeout",
  "3",
  "--idle-timeout",
  "1",
  "--request-timeout",
  "10",
];

test("gate --all --json against a good server: every check passes except the ones that cannot run, which say why", async () => {
  await withStandin({ apiKey: "gate-key-xyz", behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const dir = tempDir();
    const reportFile = join(dir, "gate.json");
    const io = captureIo();
    const code = await runGateCli(
      [
        "--endpoint",
        s.url,
        "--all",
        "--max-model-len",
        "1000000",
        "--served-name",
        "deepseek-v4",
        "--api-key-env",
        "GATE_KEY",
        "--sampler",
        "none",
        "--json",
        "--report",
        reportFile,
        ...SHORT,
      ],
      io,
      { env: { GATE_KEY: "gate-key-xyz" } },
    );
    const report = JSON.parse(io.stdout) as GateReport;
    assert.equal(
      code,
      0,
      JSON.stringify(
        report.checks.filter((c) => c.status === "fail"),
        null,
        2,
      ),
    );
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.status]),
      [
        ["boot", "pass"],
        ["security", "pass"],
        ["quality", "pass"],
        ["needle", "pass"],
        ["mtp", "pass"],
        ["soak", "pass"],
        ["logs", "skip"],
      ],
    );
    assert.match(report.checks[6]?.summary ?? "", /no log source/);
    assert.match(report.checks[3]?.summary ?? "", /retrieved the needle at 10%, 50%, 90% of a 4k-token prompt/);
    assert.equal(report.expectations, "command-line flags");
    assert.deepEqual(JSON.parse(readFileSync(reportFile, "utf8")), report, "--report writes the same JSON");
    assert.ok(!io.stdout.includes("gate-key-xyz") && !io.stderr.includes("gate-key-xyz"), "the key never shows");
    assert.match(io.stderr, /mtp: PASS/);
  });
});

test("gate fails (exit 1) on a wrong max_model_len and reports it in text", async () => {
  await withStandin({ maxModelLen: 524_288 }, async (s) => {
    const io = captureIo();
    const code = await runGateCli(
      ["--endpoint", s.url, "--suite", "boot", "--max-model-len", "1000000", "--quiet"],
      io,
      { env: {} },
    );
    assert.equal(code, 1);
    assert.match(io.stdout, /^FAIL {2}boot/m);
    assert.match(io.stdout, /max_model_len is 524288, the profile expects 1000000/);
    assert.match(io.stdout, /RESULT: FAIL \(1 of 1 checks failed\)/);
  });
});

test("a server that is down fails boot and the HTTP checks are skipped as not run, promptly", async () => {
  const t0 = Date.now();
  const io = captureIo();
  const code = await runGateCli(
    [
      "--endpoint",
      `http://127.0.0.1:${await closedPort()}`,
      "--suite",
      "boot,quality,mtp,soak,security",
      "--max-model-len",
      "1000000",
      "--json",
      "--quiet",
      ...SHORT,
    ],
    io,
    {
      env: { VLLM_API_KEY: "k" },
    },
  );
  assert.equal(code, 1);
  const report = JSON.parse(io.stdout) as GateReport;
  assert.equal(report.checks[0]?.status, "fail");
  assert.match(report.checks[0]?.problems.join("\n") ?? "", /connection refused/);
  assert.deepEqual(
    report.checks.slice(1).map((c) => c.status),
    ["skip", "skip", "skip", "skip"],
  );
  assert.ok(report.checks.slice(1).every((c) => /not run: the server is not healthy/.test(c.summary)));
  assert.ok(Date.now() - t0 < 3000);
});

test("--stack 1m: expectations, concurrency, SSH memory sampling of both nodes and the head's docker logs come from the plan", async () => {
  await withStandin({ apiKey: "k1", behavior: { tokenIntervalMs: 1 } }, async (s) => {
    const dir = tempDir();
    const ssh = fakeSsh(dir);
    writeFileSync(join(dir, "memavail"), "8000000");
    writeFileSync(join(dir, "memavail-spark-worker.local"), "8000000");
    writeFileSync(join(dir, "step-spark-worker.local"), "20000"); // ~20 MB per sample: a steep leak on the worker only
    writeFileSync(join(dir, "docker.log"), "kv_cache_dtype=fp8\nNCCL INFO NET/IB : Using [0]rocep1s0f1:1/RoCE\n");
    const io = captureIo();
    const code = await runGateCli(
      [
        "--stack",
        "1m",
        "--endpoint",
        s.url,
        "--suite",
        "boot,soak,logs",
        "--json",
        "--quiet",
        ...SHORT.filter((a, i, all) => a !== "--concurrency" && all[i - 1] !== "--concurrency"),
      ],
      io,
      {
        env: { VLLM_API_KEY: "k1" },
        sshCommand: ssh,
      },
    );
    const report = JSON.parse(io.stdout) as GateReport;
    assert.equal(code, 1, "the leaking worker fails the soak");
    assert.match(report.expectations, /stacks\/Pulumi\.1m\.yaml$/);
    assert.equal(report.maxModelLen, 1_000_000);
    const [boot, soak, logs] = report.checks;
    assert.equal(boot?.status, "pass");
    assert.equal(logs?.status, "pass", logs?.problems.join("; "));
    assert.equal(soak?.status, "fail");
    assert.equal(soak?.details.concurrency, 6, "the 1m profile's max-num-seqs");
    const mem = soak?.details.memory as { node: string; slopeMbPerHour: number }[];
    assert.deepEqual(mem.map((m) => m.node).sort(), ["spark-head", "spark-worker"]);
    assert.match(soak?.problems.join("\n") ?? "", /^spark-worker: free memory fell/m);
    assert.ok(!/spark-head: free memory fell/.test(soak?.problems.join("\n") ?? ""));
    const sshLog = readFileSync(join(dir, "ssh.log"), "utf8");
    assert.match(sshLog, /BatchMode=yes .* spark@spark-head\.local -- cat \/proc\/meminfo/);
    assert.match(sshLog, /spark@spark-worker\.local -- cat \/proc\/meminfo/);
    assert.match(sshLog, /spark@spark-head\.local -- docker logs dgx-spark-vllm-spark-head/);
  });
});

test("usage and config errors exit 2 with the reason", async () => {
  const cases: [string[], RegExp][] = [
    [["--endpoint", "http://127.0.0.1:1"], /say which checks to run/],
    [["--endpoint", "http://127.0.0.1:1", "--all", "--suite", "boot"], /choose one/],
    [["--endpoint", "http://127.0.0.1:1", "--suite", "boot,speed"], /unknown check 'speed'/],
    [
      ["--endpoint", "http://127.0.0.1:1", "--suite", "logs", "--max-model-len", "1000"],
      /--suite logs needs a log source/,
    ],
    [
      ["--endpoint", "http://127.0.0.1:1", "--suite", "boot", "--max-model-len", "1000", "--stack", "1m"],
      /replaces --stack/,
    ],
    [
      ["--endpoint", "http://127.0.0.1:1", "--suite", "soak", "--max-model-len", "1000", "--sampler", "ssh"],
      /needs the nodes/,
    ],
    [["--endpoint", "http://127.0.0.1:1", "--suite", "boot", "--api-key", "abc"], /never taken on the command line/],
    [["--suite", "boot", "--max-model-len", "1000"], /--endpoint is required/],
    [
      ["--endpoint", "http://127.0.0.1:1", "--suite", "boot", "--stack", "no-such-stack"],
      /no stack file for 'no-such-stack'/,
    ],
  ];
  for (const [argv, msg] of cases) {
    const io = captureIo();
    assert.equal(await runGateCli(argv, io, { env: {} }), 2, argv.join(" "));
    assert.match(io.stderr, msg, argv.join(" "));
  }
});

test("a soak shorter than --soak-min-verdict gives no leak verdict: INCONCLUSIVE, said up front and in the report", async () => {
  const dir = tempDir();
  const ssh = fakeSsh(dir);
  await withStandin({ apiKey: "k1", behavior: { tokenIntervalMs: 2 } }, async (s) => {
    writeFileSync(join(dir, "memavail-spark-head.local"), "60000000");
    writeFileSync(join(dir, "memavail-spark-worker.local"), "60000000");
    writeFileSync(join(dir, "step-spark-worker.local"), "50000"); // ~50 MB per sample: a "leak" of noise
    const io = captureIo();
    const code = await runGateCli(
      [
        "--stack",
        "1m",
        "--endpoint",
        s.url,
        "--suite",
        "soak",
        "--soak-min-verdict",
        "60",
        ...SHORT.slice(2).filter((a, i, all) => a !== "--concurrency" && all[i - 1] !== "--concurrency"),
      ],
      io,
      { env: { VLLM_API_KEY: "k1" }, sshCommand: ssh },
    );
    assert.equal(code, 0, io.stdout + io.stderr);
    assert.match(io.stderr, /note: --soak-duration 0\.5 s is under the 60 s a free-memory verdict needs/);
    assert.match(
      io.stdout,
      /^INCONCLUSIVE {2}soak {2}inconclusive: \d+ requests .* too short for a free-memory verdict \(needs 60 s\)/m,
    );
    assert.match(io.stdout, /measured slopes MB\/h, not judged: .*spark-worker -\d+/);
    assert.match(io.stdout, /RESULT: PASS, but INCONCLUSIVE for soak \(0 passed, 0 skipped, 1 inconclusive\)/);
    assert.doesNotMatch(io.stdout, /free memory fell/);
  });
});
