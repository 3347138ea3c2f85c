/**
 * The exposure check's reading of `ss` and its comparison with the plan's port table: real `ss`
 * output for sockets this test opens, then the rules (unlisted, wider, kept off management).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as net from "node:net";
import { describe, it } from "node:test";
import { checkListeners, closedToManagement, parseSs, withinBind } from "../../src/doctor/listeners";
import { planFromInput } from "../../src/plan";
import type { PortEntry } from "../../src/plan/types";
import { baseConfig } from "../support/fixtures";

const listen = (host: string) =>
  new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen(0, host, () => resolve(s));
  });

describe("doctor's exposure rules", () => {
  it("reads the sockets real `ss -ltnupH` prints: address, port and process", async (t) => {
    let out: string;
    const servers = [await listen("127.0.0.1"), await listen("0.0.0.0")];
    const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
    try {
      out = execFileSync("ss", ["-ltnupH"], { encoding: "utf8" });
    } catch {
      t.skip("no ss on this machine (iproute2)");
      return;
    } finally {
      for (const s of servers) s.close();
    }
    const got = parseSs(out);
    for (const [port, addr] of [
      [ports[0]!, "127.0.0.1"],
      [ports[1]!, "0.0.0.0"],
    ] as const) {
      const l = got.find((x) => x.port === port);
      assert.ok(l, `port ${port} not read from:\n${out}`);
      assert.equal(l.address, addr);
      assert.equal(l.protocol, "tcp");
      assert.ok(l.process, "ss names the process (its comm: node, or MainThread under Node 24)");
    }
  });

  it("reads IPv6, interface-scoped and wildcard forms", () => {
    const got = parseSs(
      [
        'tcp   LISTEN 0 4096  [::]:22  [::]:*  users:(("sshd",pid=9,fd=4))',
        "tcp   LISTEN 0 128   10.0.0.1%enp1s0f1np1:41000  0.0.0.0:*",
        "tcp   LISTEN 0 128   *:9100  *:*",
        "udp   UNCONN 0 0     127.0.0.1:323  0.0.0.0:*",
      ].join("\n"),
    );
    assert.deepEqual(
      got.map((l) => `${l.protocol} ${l.address} ${l.port} ${l.process ?? "-"}`),
      ["tcp :: 22 sshd", "tcp 10.0.0.1 41000 -", "tcp 0.0.0.0 9100 -", "udp 127.0.0.1 323 -"],
    );
  });

  it("a bind is wider when it covers more interfaces than the table's", () => {
    assert.equal(withinBind("127.0.0.1", "127.0.0.1"), true);
    assert.equal(withinBind("0.0.0.0", "127.0.0.1"), false);
    assert.equal(withinBind("::", "192.168.1.10"), false);
    assert.equal(withinBind("192.168.1.10", "192.168.1.10"), true);
    assert.equal(withinBind("10.0.0.1", "192.168.1.10"), false);
    assert.equal(withinBind("192.168.1.10", "0.0.0.0"), true);
  });

  it("holds a head's sockets against its plan: Prometheus on every interface is wider, a stray port unlisted, loopback kept off management", () => {
    const c = baseConfig();
    c.nodes[0].ssh.host = "192.168.1.10";
    c.nodes[1].ssh.host = "192.168.1.11";
    c.observability = { enabled: true, grafana: { adminPassword: "pw-for-the-test" } };
    const plan = planFromInput(c);
    const rows: PortEntry[] = plan.exposure.filter((r) => r.node === plan.cluster.head);
    const ss = (prom: string) =>
      parseSs(
        [
          "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*",
          `LISTEN 0 128 0.0.0.0:${plan.cluster.port} 0.0.0.0:*`,
          `LISTEN 0 128 ${prom}:9090 0.0.0.0:*`,
          "LISTEN 0 128 127.0.0.1:9093 0.0.0.0:*",
          "LISTEN 0 128 192.168.1.10:9100 0.0.0.0:*",
          "LISTEN 0 128 10.0.0.1:45123 0.0.0.0:*",
          "LISTEN 0 128 0.0.0.0:6379 0.0.0.0:*",
        ].join("\n"),
      );
    const good = checkListeners(rows, ss("127.0.0.1"));
    assert.deepEqual(
      good.unlisted.map((l) => l.port),
      [6379],
    );
    assert.deepEqual(good.wider, []);
    const bad = checkListeners(rows, ss("0.0.0.0"));
    assert.deepEqual(
      bad.wider.map((w) => `${w.socket.port} ${w.row.bind}`),
      ["9090 127.0.0.1"],
    );
    // Loopback (Prometheus, Alertmanager) and the data-plane socket are kept off the management network.
    assert.deepEqual(closedToManagement(rows, ss("127.0.0.1"), "192.168.1.10"), [9090, 9093, 45123]);
  });
});
