/** doctor's pure parts: probe output parsing, SSH failure classes, the CLI's input errors. */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { classifySshText, evaluate, type NodeResult } from "../../src/doctor/evaluate";
import { parseProbe, probeScript } from "../../src/doctor/probe";
import { readStackAccess } from "../../src/cli/args";
import { runDoctorCli } from "../../src/cli/doctor";
import { readStackFile } from "../../src/config/load";
import { planFromInput } from "../../src/plan/cluster";
import { planDeploymentFromInput } from "../../src/plan/replicas";
import { ruleFor } from "../../src/repair/table";
import { baseConfig } from "../support/fixtures";
import { ROOT } from "../support/rendered";

test("probe output: values (CRLF-safe), multi-line blocks, a block without a final newline", () => {
  const m = parseProbe(
    '@gpu NVIDIA GB10, 12.1\n@peer.x 255|ssh: connect: No route to host\r\n@model_files<\n10 a.json\n20 b.bin\n@>\n@models_json<\n{"data":[]}\n@>\n@engine \n',
  );
  assert.equal(m.get("gpu"), "NVIDIA GB10, 12.1");
  assert.equal(m.get("model_files"), "10 a.json\n20 b.bin");
  assert.equal(m.get("models_json"), '{"data":[]}');
  assert.equal(m.get("engine"), "");
  assert.ok(m.has("peer.x"));
});

test("SSH failures are classified from the client's words", () => {
  const cases: [string, string][] = [
    ["spark@10.0.0.9: Permission denied (publickey).", "auth"],
    ["@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.", "host-key-changed"],
    ["Host key verification failed.", "host-key-unknown"],
    ["ssh: connect to host 10.0.0.9 port 22: Connection timed out", "timeout"],
    ["ssh: connect to host 10.0.0.9 port 22: Connection refused", "refused"],
    ["ssh: connect to host 10.0.0.9 port 22: No route to host", "no-route"],
    ["ssh: Could not resolve hostname spark-x.local: Name or service not known", "name"],
    ["kex_exchange_identification: read: Connection reset by peer", "other"],
  ];
  for (const [text, kind] of cases) {
    const f = classifySshText(text);
    assert.equal(f.kind, kind, text);
    assert.ok(f.fix.length > 10, `a fix for ${kind}`);
  }
});

test("the probe is read-only bash: no journal, no writes, secrets only on stdin", () => {
  const plan = planFromInput(baseConfig(), "plan");
  for (const n of plan.nodes) {
    const s = probeScript(plan, n, { rdma: true });
    assert.doesNotMatch(
      s,
      /\$J|journal|tee |>\s*\/etc|mkdir|rm -rf|systemctl (start|stop|restart|enable|disable)|ip (addr|link) (add|del|set)|sysctl -w|swapoff|swapon [^-]/,
    );
    const sshLines = s.split("\n").filter((l) => l.includes("ssh -o"));
    assert.equal(
      sshLines.length,
      n.role === "head" ? 2 : 0,
      "the head checks SSH to the worker's management and data-plane address",
    );
    for (const l of sshLines)
      assert.match(l, /UserKnownHostsFile=\/dev\/null/, "node-to-node SSH never records a host key");
    assert.ok(!s.includes("test-api-key-value") && !s.includes("hf_test_token_value"), "no secret in the script");
  }
});

test("node-to-node SSH checks a pinned host key strictly and records nothing", () => {
  const c = baseConfig();
  // A made-up host key line, assembled here so no key-shaped text sits in the repository.
  c.nodes[1].ssh.hostKey = ["ssh-ed25519", `AAAAC3NzaC1lZDI1NTE5${"f".repeat(48)}`].join(" ");
  const plan = planFromInput(c, "plan");
  const s = probeScript(plan, plan.nodes[0]!);
  assert.match(s, /'KnownHostsCommand=\/bin\/echo %H ssh-ed25519 AAAAC3[^']*' -o StrictHostKeyChecking=yes/);
  assert.doesNotMatch(s, /accept-new/);
});

test("doctor CLI: bad input exits 2 with the reason, and a key on the command line is refused", async () => {
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runDoctorCli(args, { out: (s) => out.push(s), err: (s) => err.push(s) }, {});
    return { code, out: out.join(""), err: err.join("") };
  };
  let r = await run(["--stack", "no-such-stack"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--stack: no stack file for 'no-such-stack'/);
  r = await run(["--bogus"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /usage: dgx-spark-vllm doctor/);
  r = await run(["--api-key", "x"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /never taken on the command line/);
  r = await run(["--identity", "/nonexistent/key"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--identity: cannot read \/nonexistent\/key/);
});

/** evaluate() on probe text per node (only the keys a test cares about). */
function gidChecks(gidPolicy: unknown, probe: Record<string, string>) {
  const c = baseConfig();
  c.link = { ...(c.link ?? {}), gidPolicy };
  const plan = planFromInput(c, "plan");
  const results = new Map<string, NodeResult>(
    plan.nodes.map((n) => [n.name, { ok: true, values: parseProbe(`${probe[n.name] ?? ""}@probe.complete\n`) }]),
  );
  return { plan, checks: evaluate(plan, results).filter((x) => x.id === "gid.0") };
}
const V2 = (last: string) => `0000:0000:0000:0000:0000:ffff:0a00:${last}`;

test("pinned GID index: PASS only while the pinned entry is the node's RoCEv2 GID; drift FAILs naming the index", () => {
  const { checks } = gidChecks(
    { index: 3 },
    {
      // The head: the RoCEv2 entry is where it was pinned.
      "spark-head": `@p0.exists yes\n@p0.gid 3\n@p0.pinned ${V2("0001")}|RoCE v2\n`,
      // The worker after a reboot: the entry moved to 5; index 3 now holds another GID.
      "spark-worker": "@p0.exists yes\n@p0.gid 5\n@p0.pinned fd00:0000:0000:0000:0000:0000:0000:0001|RoCE v2\n",
    },
  );
  const head = checks.find((x) => x.node === "spark-head")!;
  const worker = checks.find((x) => x.node === "spark-worker")!;
  assert.equal(head.status, "PASS", head.evidence);
  assert.equal(worker.status, "FAIL", worker.evidence);
  assert.match(head.evidence, /GID index 3: 0000:0000:0000:0000:0000:ffff:0a00:0001 \(RoCE v2\)/);
  assert.match(worker.evidence, /GID index 3 holds 'fd00:[0-9a-f:]+' \(RoCE v2\); /);
  assert.match(worker.evidence, /; the RoCEv2 GID of 10\.0\.0\.2 is at index 5$/);
  assert.match(worker.fix ?? "", /gidPolicy to 'resolve'.*\{ index: 5 \}/);
});

test("pinned GID index: the right GID as RoCE v1, or no RoCEv2 entry at all, is a FAIL too", () => {
  const { checks } = gidChecks(
    { index: 3 },
    {
      "spark-head": `@p0.exists yes\n@p0.gid 7\n@p0.pinned ${V2("0001")}|IB/RoCE v1\n`,
      "spark-worker": "@p0.exists yes\n@p0.gid none\n@p0.pinned 0000:0000:0000:0000:0000:0000:0000:0000|\n",
    },
  );
  const head = checks.find((x) => x.node === "spark-head")!;
  const worker = checks.find((x) => x.node === "spark-worker")!;
  assert.equal(head.status, "FAIL");
  assert.match(head.evidence, /\(IB\/RoCE v1\); the RoCEv2 GID of 10\.0\.0\.1 is at index 7/);
  assert.equal(worker.status, "FAIL");
  assert.match(worker.evidence, /no index holds the RoCEv2 GID of 10\.0\.0\.2/);
  assert.match(worker.fix ?? "", /systemctl restart dgx-spark-vllm-link\.service/);
});

test("the probe reads the pinned GID entry (read-only) only when the index is pinned", () => {
  const pinned = planFromInput({ ...baseConfig(), link: { gidPolicy: { index: 3 } } }, "plan");
  const s = probeScript(pinned, pinned.nodes[1]!);
  const read = (f: string) => `$(cat "$g/${f}/3" 2>/dev/null)`;
  assert.ok(s.includes(`kv p0.pinned "${read("gids")}|${read("gid_attrs/types")}"`), "reads gids/3 and its type");
  assert.match(s, /^g=\/sys\/class\/infiniband\/rocep1s0f1\/ports\/1;/m);
  const auto = planFromInput(baseConfig(), "plan");
  assert.doesNotMatch(probeScript(auto, auto.nodes[1]!), /pinned/);
  // Without a pin, the check is unchanged: the index that holds the RoCEv2 GID.
  const { checks } = gidChecks("auto", {
    "spark-head": "@p0.exists yes\n@p0.gid 5\n",
    "spark-worker": "@p0.exists yes\n@p0.gid none\n",
  });
  assert.deepEqual(
    checks.map((x) => `${x.node} ${x.status} ${x.evidence}`),
    [
      "spark-head PASS GID index 5",
      "spark-worker FAIL no RoCEv2 GID entry for 10.0.0.2 (the post-reboot quirk: NCCL init would hang)",
    ],
  );
});

test("the API key never lands in a file on the node: the probe hands it to curl on a pipe", () => {
  const plan = planFromInput(baseConfig(), "plan");
  const s = probeScript(plan, plan.nodes.find((n) => n.role === "head")!);
  assert.doesNotMatch(s, /mktemp|\/tmp\/|\/dev\/shm/, "no temporary file on the node");
  assert.doesNotMatch(s, /\$key"?\s*>/, "the key is never redirected into a file");
  const models = s.split("\n").filter((l) => l.includes("/v1/models"));
  assert.equal(models.length, 1);
  assert.match(models[0]!, /-H @- /, "curl reads the header from its stdin");
});

test("every probe step has its own bound: docker, ip, ping, ssh, curl, sudo run under timeout; markers per step", () => {
  const plan = planFromInput(baseConfig(), "plan");
  const s = probeScript(plan, plan.nodes[0]!, { rdma: true });
  // No external command that can hang runs unbounded (t SECONDS, or dk for docker).
  for (const cmd of [
    "docker",
    "ip",
    "ping",
    "ssh",
    "curl",
    "nvidia-smi",
    "systemctl",
    "sysctl",
    "swapon",
    "df",
    "find",
    "ss",
  ]) {
    const unbounded = s
      .split("\n")
      .filter((l) => new RegExp(`(^|[(;|&]\\s*|\\$\\()${cmd} `).test(l.replace(/^\s*(if|then|else)\s+/, "")))
      .filter((l) => !l.includes(`t ${cmd === "docker" ? "" : "\\d"}`) && !/^\s*#/.test(l));
    assert.deepEqual(unbounded, [], `${cmd} always runs under t/dk`);
  }
  assert.match(s, /timeout -k 1 "\$s" "\$@"/);
  for (const step of ["identity", "sudo", "docker", "port.0", "persist", "hardening", "image", "engine", "serving"])
    assert.match(s, new RegExp(`^step ${step.replace(".", "\\.")}$`, "m"), step);
  assert.match(s, /printf '@probe\.complete\\n'\n$/);
});

/** evaluate() of one node's probe output (the other node healthy enough to answer). */
function evaluateProbe(node: string, text: string) {
  const plan = planFromInput(baseConfig(), "plan");
  const results = new Map<string, NodeResult>(
    plan.nodes.map((n) => [n.name, { ok: true, values: parseProbe(n.name === node ? text : "@probe.complete\n") }]),
  );
  return evaluate(plan, results);
}

test("a step that timed out: its checks say not answering (with a fix for that), never a verdict", () => {
  const checks = evaluateProbe(
    "spark-worker",
    [
      "@host spark-worker",
      "@step.identity done",
      "@timeout.docker docker 6",
      "@step.docker done",
      "@min_free_kbytes 3145728",
      "@step.hardening done",
      "@timeout.image docker 6",
      "@image none",
      "@timeout.engine docker 6",
      "@engine ",
      "@memavailable_kb 124109312",
      "@memtotal_kb 128443260",
      "@probe.complete",
      "",
    ].join("\n"),
  );
  const get = (id: string, node = "spark-worker") => checks.find((c) => c.id === id && c.node === node)!;
  for (const [id, node] of [
    ["docker", "spark-worker"],
    ["image", "cluster"],
    ["ranks", "cluster"],
  ] as const) {
    const c = get(id, node);
    assert.equal(c.status, "FAIL", id);
    assert.match(c.evidence, /docker did not answer within 6 s/, id);
    assert.match(c.fix ?? "", /the docker daemon on spark-worker is not answering: sudo systemctl restart docker/, id);
  }
  assert.equal(get("min-free-kbytes").status, "PASS");
  assert.equal(get("memory").status, "PASS", get("memory").evidence);
  assert.match(get("memory").evidence, /engine state unknown/);
});

test("a probe cut off after the first port: the steps it did not reach are not checked, not judged", () => {
  const checks = evaluateProbe(
    "spark-worker",
    [
      "@host spark-worker",
      "@gpu NVIDIA GB10, 12.1",
      "@arch aarch64",
      "@kernel 6.17.0-1032-nvidia",
      "@step.identity done",
      "@sudo ok",
      "@step.sudo done",
      "",
    ].join("\n"),
  );
  const mine = checks.filter((c) => c.node === "spark-worker" && c.id !== "ssh");
  assert.equal(mine.find((c) => c.id === "identity")!.status, "PASS");
  assert.equal(mine.find((c) => c.id === "kernel")!.status, "PASS");
  assert.equal(mine.find((c) => c.id === "sudo")!.status, "PASS");
  const rest = mine.filter((c) => c.id !== "identity" && c.id !== "sudo" && c.id !== "kernel");
  assert.ok(rest.length >= 8, rest.map((c) => c.id).join(", "));
  for (const c of rest) {
    assert.equal(c.status, "FAIL", c.id);
    assert.match(c.evidence, /^not checked: the probe ended before this step/, `${c.id}: ${c.evidence}`);
  }
  for (const id of ["image", "model-files", "ranks"])
    assert.match(checks.find((c) => c.id === id)!.evidence, /spark-worker: not checked/, id);
  // None of the wrong diagnoses a cut-off probe used to give.
  const all = checks
    .filter((c) => c.node !== "spark-head")
    .map((c) => `${c.evidence} ${c.fix ?? ""}`)
    .join("\n");
  assert.doesNotMatch(all, /does not exist|absent|0\.0 GiB|usermod/);
});

test("a fix names the repair command for the stack or file doctor read, ready to paste", () => {
  const dir = mkdtempSync(join(tmpdir(), "doctor repair "));
  const file = join(dir, "my stack.yaml");
  writeFileSync(file, JSON.stringify(baseConfig()));
  const key = join(dir, "id_ed25519");
  writeFileSync(key, "not read by this test", { mode: 0o600 });
  try {
    const fromFile = readStackAccess({ config: file, identity: key }, {});
    assert.equal(fromFile.repairCommand, `dgx-spark-vllm repair --config '${file}' --identity '${key}'`);
    assert.equal(readStackAccess({}, {}).repairCommand, "dgx-spark-vllm repair --stack 1m");
    const plan = fromFile.plan;
    const results = new Map<string, NodeResult>(
      plan.nodes.map((n) => [
        n.name,
        { ok: true, values: parseProbe(`${n.role === "worker" ? "@swaps /swap.img\n" : ""}@probe.complete\n`) },
      ]),
    );
    const swap = evaluate(plan, results, fromFile.repairCommand).find((c) => c.id === "swap" && c.status === "FAIL");
    assert.ok(swap, "the worker's active swap is a FAIL");
    assert.ok(swap.fix?.includes(`or ${fromFile.repairCommand} (also comments`), swap.fix);
    assert.ok(!evaluate(plan, results, fromFile.repairCommand).some((c) => c.fix?.includes("<stack>")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a known-bad kernel: FAIL with what breaks, the fix and the source; WARN once acknowledged", () => {
  const probe = (kernel: string) =>
    ["@host spark-worker", "@gpu NVIDIA GB10, 12.1", "@arch aarch64", `@kernel ${kernel}`, "@probe.complete", ""].join(
      "\n",
    );
  const bad = evaluateProbe("spark-worker", probe("7.0.0-1019-nvidia")).find(
    (c) => c.id === "kernel" && c.node === "spark-worker",
  )!;
  assert.equal(bad.status, "FAIL");
  assert.match(bad.evidence, /7\.0\.0-1019-nvidia: NCCL over RoCE fails.*ENOMEM.*issue #392/);
  assert.match(bad.fix!, /6\.17\.0-1032-nvidia.*hardening\.acknowledgeKnownBad: \[kernel-7\.0\.0-1019-nvidia\]/);
  const good = evaluateProbe("spark-worker", probe("6.17.0-1032-nvidia")).find(
    (c) => c.id === "kernel" && c.node === "spark-worker",
  )!;
  assert.equal(good.status, "PASS");
  const c = baseConfig();
  c.hardening = { acknowledgeKnownBad: ["kernel-7.0.0-1019-nvidia"] };
  const plan = planFromInput(c, "plan");
  const results = new Map<string, NodeResult>(
    plan.nodes.map((n) => [n.name, { ok: true, values: parseProbe(probe("7.0.0-1019-nvidia")) }]),
  );
  const acked = evaluate(plan, results).find((x) => x.id === "kernel" && x.node === "spark-worker")!;
  assert.equal(acked.status, "WARN");
  assert.match(acked.fix!, /acknowledged/);
});

test("link.disableIpv6: doctor reads each port's switch; IPv6 back on is a FAIL that repair answers with ipv6-off", () => {
  const c = baseConfig();
  c.link = { disableIpv6: true };
  const plan = planFromInput(c, "plan");
  assert.match(
    probeScript(plan, plan.nodes[1]!),
    /kv p0\.ipv6off "\$\(t 5 sysctl -n net\.ipv6\.conf\.enp1s0f1np1\.disable_ipv6 2>&1\)"/,
  );
  const probe = (v: string) =>
    ["@host spark-worker", "@p0.exists yes", `@p0.ipv6off ${v}`, "@probe.complete", ""].join("\n");
  const results = (v: string) =>
    new Map<string, NodeResult>(plan.nodes.map((n) => [n.name, { ok: true, values: parseProbe(probe(v)) }]));
  const on = evaluate(plan, results("0")).find((x) => x.id === "ipv6.0" && x.node === "spark-worker")!;
  assert.equal(on.status, "FAIL");
  assert.match(on.fix!, /disable_ipv6=1/);
  assert.deepEqual(ruleFor(on)?.steps, ["ipv6-off", "gid-check"]);
  assert.equal(
    evaluate(plan, results("1")).find((x) => x.id === "ipv6.0" && x.node === "spark-worker")!.status,
    "PASS",
  );
  // Without the setting there is no such check.
  const plain = planFromInput(baseConfig(), "plan");
  assert.ok(!evaluate(plain, results("0")).some((x) => x.id.startsWith("ipv6.")));
});

test("a port without carrier and an unanswered DF ping: the fix names the cable, or the switch when there is one", () => {
  const stack = readStackFile(join(ROOT, "stacks", "Pulumi.2x2-replicas.yaml")) as Record<string, any>;
  const tp4 = structuredClone(stack);
  tp4.serving = { profile: "256k" };
  for (const n of tp4.nodes) delete n.replica;
  tp4.nodes[2].role = "worker";
  const replica = planDeploymentFromInput(stack).replicas[1]!;
  const cases = [
    [
      "two nodes on a /30",
      planFromInput(baseConfig(), "plan"),
      /check the QSFP cable on both Sparks and/,
      /^the MTU must be 9000 on both ends of twin 0 and the cable up/,
    ],
    [
      "two nodes of a replica on a /24",
      replica,
      /check the QSFP cable on both Sparks \(through a switch: both cables and the switch ports\)/,
      /^the MTU must be 9000 on both ends of twin 0 \(and on the switch ports, through a switch\) and the cable up/,
    ],
    [
      "four nodes on a /24",
      planFromInput(tp4, "plan"),
      /check spark-b2's QSFP cable to the switch, that its switch port is enabled/,
      /^the MTU must be 9000 on both ends of twin 0 and on the switch ports and the cables to the switch up/,
    ],
  ] as const;
  for (const [what, plan, carrierFix, pingFix] of cases) {
    const down = plan.nodes[plan.nodes.length - 1]!.name;
    const results = new Map<string, NodeResult>(
      plan.nodes.map((n) => [
        n.name,
        {
          ok: true,
          values: parseProbe(
            n.name === down
              ? "@p0.exists yes\n@p0.operstate down\n@p0.carrier 0\n@probe.complete\n"
              : `@p0.exists yes\n@p0.operstate up\n@p0.carrier 1\n@ping.${down}.0 fail\n@probe.complete\n`,
          ),
        },
      ]),
    );
    const checks = evaluate(plan, results);
    const netdev = checks.find((c) => c.id === "netdev.0" && c.node === down)!;
    assert.equal(netdev.status, "FAIL", what);
    assert.match(netdev.fix ?? "", carrierFix, what);
    const ping = checks.find((c) => c.id === `df-ping.0.${down}` && c.node === plan.nodes[0]!.name)!;
    assert.equal(ping.status, "FAIL", what);
    assert.match(ping.fix ?? "", pingFix, what);
  }
});

test("serving.router: doctor checks the router on its node (unit, /readiness with the key, the workers it sees healthy, metrics)", () => {
  const c = baseConfig();
  c.serving.router = { enabled: true, node: "spark-worker", port: 8090, metricsPort: 29001 };
  const plan = planFromInput(c, "plan");
  assert.deepEqual(plan.router, {
    node: "spark-worker",
    host: "192.168.1.12",
    unit: "dgx-spark-vllm-router",
    policy: "cache_aware",
    port: 8090,
    metricsPort: 29001,
  });
  const worker = plan.nodes.find((n) => n.name === "spark-worker")!;
  const s = probeScript(plan, worker);
  // The router's node reads the key on stdin (as the head does) and sends it in a header, never in argv.
  assert.match(s, /^key=; IFS= read -r key \|\| true$/m);
  assert.match(s, /kv router_unit "\$\(t 5 systemctl is-active dgx-spark-vllm-router\.service/);
  assert.match(s, /curl -s -o \/dev\/null -w '%\{http_code\}' -m 5 -H @- http:\/\/127\.0\.0\.1:8090\/readiness/);
  assert.match(
    s,
    /curl -s -m 10 http:\/\/127\.0\.0\.1:29001\/metrics 2>\/dev\/null \| grep '\^vllm_router_' \| block router_metrics/,
  );
  assert.ok(!s.includes("test-api-key-value"));
  // Nothing of the router on a node that does not run it, nor without serving.router.
  assert.doesNotMatch(probeScript(plan, plan.nodes[0]!), /router/);
  assert.equal(planFromInput(baseConfig(), "plan").router, undefined);

  const workers = (a: boolean, b: boolean) =>
    JSON.stringify({
      workers: [
        { url: "http://spark-a1.local:8000", is_healthy: a, load: 0 },
        { url: "http://spark-b1.local:8000", is_healthy: b, load: 2 },
      ],
    });
  const metrics = [
    'vllm_router_processed_requests_total{worker="http://spark-a1.local:8000"} 34',
    'vllm_router_processed_requests_total{worker="http://spark-b1.local:8000"} 3',
    "vllm_router_active_workers 2",
  ].join("\n");
  const run = (lines: string[]) => {
    const probe = ["@host spark-worker", ...lines, "@probe.complete", ""].join("\n");
    const results = new Map<string, NodeResult>(
      plan.nodes.map((n) => [n.name, { ok: true, values: parseProbe(probe) }]),
    );
    return new Map(
      evaluate(plan, results)
        .filter((x) => x.id.startsWith("router-"))
        .map((x) => [`${x.node} ${x.id}`, x]),
    );
  };
  const up = run([
    "@router_unit active",
    "@router_ready 200",
    `@router_workers<\n${workers(true, true)}\n@>`,
    `@router_metrics<\n${metrics}\n@>`,
  ]);
  assert.deepEqual(
    [...up.keys()],
    [
      "spark-worker router-unit",
      "spark-worker router-ready",
      "spark-worker router-workers",
      "spark-worker router-metrics",
    ],
  );
  for (const x of up.values()) assert.equal(x.status, "PASS", `${x.id}: ${x.evidence}`);
  assert.equal(
    up.get("spark-worker router-workers")!.evidence,
    "2 of 2 healthy; healthy   http://spark-a1.local:8000  load 0  34 requests routed; healthy   http://spark-b1.local:8000  load 2  3 requests routed",
  );
  assert.equal(up.get("spark-worker router-metrics")!.evidence, "3 vllm_router_* samples");

  // One replica down: a warning naming it; none healthy: the router cannot serve.
  const one = run(["@router_unit active", "@router_ready 200", `@router_workers<\n${workers(true, false)}\n@>`]);
  const w = one.get("spark-worker router-workers")!;
  assert.equal(w.status, "WARN");
  assert.match(w.evidence, /^1 of 2 healthy; .*UNHEALTHY http:\/\/spark-b1\.local:8000/);
  assert.equal(one.get("spark-worker router-metrics")!.status, "WARN", "no metrics lines: the dashboards lose it");
  const none = run(["@router_unit active", "@router_ready 503", `@router_workers<\n${workers(false, false)}\n@>`]);
  assert.equal(none.get("spark-worker router-workers")!.status, "FAIL");
  assert.match(none.get("spark-worker router-ready")!.evidence, /^HTTP 503: not ready: no healthy worker/);

  // The wrong key: the fix says how to give doctor the key.
  const refused = run(["@router_unit active", "@router_ready 401", "@router_workers<\n\n@>"]);
  assert.equal(refused.get("spark-worker router-ready")!.status, "FAIL");
  assert.match(refused.get("spark-worker router-ready")!.fix!, /VLLM_API_KEY=\.\.\. dgx-spark-vllm doctor/);

  // The unit stopped: one FAIL with the fix, the routes not asked about.
  const stopped = run(["@router_unit inactive"]);
  assert.deepEqual([...stopped.keys()], ["spark-worker router-unit"]);
  assert.equal(stopped.get("spark-worker router-unit")!.status, "FAIL");
  assert.match(
    stopped.get("spark-worker router-unit")!.fix!,
    /journalctl -u dgx-spark-vllm-router -n 50 on spark-worker/,
  );

  // The probe cut off before the router's step: not checked, never judged from missing values.
  const cut = new Map<string, NodeResult>(
    plan.nodes.map((n) => [n.name, { ok: true, values: parseProbe("@host x\n@step.memory done\n") }]),
  );
  const unit = evaluate(plan, cut).find((x) => x.id === "router-unit")!;
  assert.equal(unit.unanswered, "not checked");
});
