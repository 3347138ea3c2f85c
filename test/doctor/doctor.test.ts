/** doctor's pure parts: probe output parsing, SSH failure classes, the CLI's input errors. */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { classifySshText } from "../../src/doctor/evaluate";
import { parseProbe, probeScript } from "../../src/doctor/probe";
import { runDoctorCli } from "../../src/cli/doctor";
import { planFromInput } from "../../src/plan/cluster";
import { baseConfig } from "../support/fixtures";

test("probe output: values (CRLF-safe), multi-line blocks, a block without a final newline", () => {
  const m = parseProbe("@gpu NVIDIA GB10, 12.1\n@peer.x 255|ssh: connect: No route to host\r\n@model_files<\n10 a.json\n20 b.bin\n@>\n@models_json<\n{\"data\":[]}\n@>\n@engine \n");
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
    assert.doesNotMatch(s, /\$J|journal|tee |>\s*\/etc|mkdir|rm -rf|systemctl (start|stop|restart|enable|disable)|ip (addr|link) (add|del|set)|sysctl -w|swapoff|swapon [^-]/);
    const sshLines = s.split("\n").filter((l) => l.includes("ssh -o"));
    assert.equal(sshLines.length, n.role === "head" ? 2 : 0, "the head checks SSH to the worker's management and data-plane address");
    for (const l of sshLines) assert.match(l, /UserKnownHostsFile=\/dev\/null/, "node-to-node SSH never records a host key");
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
