/** The one SSH module: the option builder, and the session's argv, key files and commands. */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { peerSshOptions } from "../../src/plan/access";
import { planFromInput } from "../../src/plan/cluster";
import { SshSession, sshOptions } from "../../src/ssh";
import { tempDir } from "../bench/support";
import { baseConfig } from "../support/fixtures";

// A made-up host key line, assembled here so no key-shaped text sits in the repository.
const HOST_KEY = ["ssh-ed25519", `AAAAC3NzaC1lZDI1NTE5${"e".repeat(48)}`].join(" ");
const KEY_TEXT = ["-----BEGIN MADE-UP KEY-----", "not a real key", "-----END MADE-UP KEY-----"].join("\n");

const BASE = [
  "BatchMode=yes",
  "ConnectTimeout=10",
  "ServerAliveInterval=5",
  "ServerAliveCountMax=3",
  "LogLevel=ERROR",
].flatMap((o) => ["-o", o]);
const NO_PIN = ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"];

test("no pinned host key: any key is taken and nothing is remembered", () => {
  assert.deepEqual(sshOptions({ port: 22 }), [...BASE, ...NO_PIN, "-p", "22"]);
});

test("a pinned host key is checked strictly, handed over by KnownHostsCommand", () => {
  const o = sshOptions({ port: 22, hostKey: HOST_KEY });
  assert.deepEqual(o, [
    ...BASE,
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    `KnownHostsCommand=/bin/echo %H ${HOST_KEY}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-p",
    "22",
  ]);
  assert.ok(!o.includes("StrictHostKeyChecking=no"));
});

test("identity file, port and connect timeout", () => {
  const o = sshOptions({ port: 2222 }, { identityFile: "/home/me/.ssh/spark", connectTimeoutS: 3 });
  assert.deepEqual(o.slice(-6), ["-o", "IdentitiesOnly=yes", "-i", "/home/me/.ssh/spark", "-p", "2222"]);
  assert.ok(o.includes("ConnectTimeout=3"));
  assert.ok(!sshOptions({ port: 22 }).includes("-i"), "no identity: the agent / ssh config decides");
});

test("peerSshOptions (rendered into the host scripts) is the builder's output, unchanged", () => {
  const c = baseConfig();
  c.nodes[1].ssh.hostKey = HOST_KEY;
  c.nodes[1].ssh.port = 2200;
  const plan = planFromInput(c, "plan");
  const [head, worker] = plan.nodes;
  assert.deepEqual(peerSshOptions(head!), [...BASE, ...NO_PIN, "-p", "22"]);
  assert.deepEqual(peerSshOptions(worker!), sshOptions({ port: 2200, hostKey: HOST_KEY }));
});

test("session: the stack's key goes to a 0600 file in a private folder, never on the command line; close removes it", () => {
  const node = { name: "w", ssh: { host: "10.1.2.3", port: 22, user: "spark", hostKey: HOST_KEY } };
  const s = new SshSession({ privateKeys: { w: KEY_TEXT } });
  const argv = s.argv(node);
  assert.equal(argv[0], "ssh");
  assert.deepEqual(argv.slice(-2), ["spark@10.1.2.3", "--"]);
  assert.ok(argv.includes("StrictHostKeyChecking=yes"));
  const keyFile = argv[argv.indexOf("-i") + 1] as string;
  assert.equal(readFileSync(keyFile, "utf8"), `${KEY_TEXT}\n`);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(keyFile)).mode & 0o777, 0o700);
  assert.ok(!argv.join(" ").includes("not a real key"), "the key text is not on the command line");
  s.close();
  assert.ok(!existsSync(dirname(keyFile)), "close() removes the folder");
  assert.ok(!new SshSession({}).argv(node).includes("-i"), "no key: no -i");
  const withIdentity = new SshSession({ identityFile: "/k", privateKeys: { w: KEY_TEXT } }).argv(node);
  assert.equal(withIdentity[withIdentity.indexOf("-i") + 1], "/k", "--identity takes the place of the stack's key");
  assert.ok(
    !withIdentity.join(" ").includes("dgx-spark-vllm-ssh-"),
    "with --identity the stack's key is not written out",
  );
});

test("session.exec: the command is one string after --, stdin goes on the pipe, output and exit code come back", async () => {
  const dir = tempDir();
  const ssh = join(dir, "ssh");
  const record = `for a in "$@"; do printf '%s\\n' "$a"; done > "${dir}/argv"`;
  writeFileSync(ssh, `#!/bin/sh\n${record}\ncat > "${dir}/stdin"\necho out; echo err >&2; exit 3\n`);
  chmodSync(ssh, 0o755);
  const s = new SshSession({ sshCommand: [ssh], extraOptions: ["-F", "/dev/null"] });
  const r = await s.run(
    { name: "h", ssh: { host: "h.local", port: 22, user: "u" } },
    "echo a b; exit 3",
    "secret-line",
  );
  assert.deepEqual([r.code, r.stdout, r.stderr], [3, "out\n", "err\n"]);
  const argv = readFileSync(join(dir, "argv"), "utf8").trimEnd().split("\n");
  assert.deepEqual(argv.slice(0, 2), ["-F", "/dev/null"]);
  assert.deepEqual(argv.slice(-3), ["u@h.local", "--", "echo a b; exit 3"]);
  assert.equal(readFileSync(join(dir, "stdin"), "utf8"), "secret-line\n");
  s.close();
  const hang = join(dir, "hang");
  writeFileSync(hang, "#!/bin/sh\nexec sleep 30\n");
  chmodSync(hang, 0o755);
  const slow = await new SshSession({ sshCommand: [hang] }).exec({ host: "h" }, "x", "", { timeoutMs: 200 });
  assert.match(slow.error ?? "", /did not finish within/);
});
