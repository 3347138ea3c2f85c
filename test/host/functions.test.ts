/**
 * The host scripts' functions, called directly: bash sources src/host/lib.sh and
 * src/host/watchdog.sh (which defines its functions without running its main loop when sourced)
 * with controlled variables and stubs, instead of reaching them only through the Docker rehearsal.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { HOST_DIR } from "../../src/shell/host";
import { shq } from "../../src/shell/quote";

/** Run `body` in bash after sourcing the given host files, under the watchdog's strict mode. */
function bash(
  body: string,
  files: string[] = ["lib.sh"],
  input = "",
): { status: number | null; out: string; err: string } {
  const src = files.map((f) => `source ${shq(join(HOST_DIR, f))}`).join("\n");
  const r = spawnSync("bash", ["-c", `set -uo pipefail\n${src}\n${body}`], { input, encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("watchdog: restart backoff (spacing)", () => {
  const spacing = (min: number, max: number, failed: number) =>
    bash(`MIN_RESTART_INTERVAL=${min}; MAX_BACKOFF=${max}; CONSEC_FAILED=${failed}; spacing`, [
      "lib.sh",
      "watchdog.sh",
    ]).out.trim();

  it("starts at the least interval and doubles after each failed restart in a row", () => {
    assert.deepEqual(
      [0, 1, 2].map((f) => spacing(300, 1800, f)),
      ["300", "600", "1200"],
    );
  });
  it("is capped at maxBackoffSeconds, however many restarts failed", () => {
    assert.deepEqual(
      [3, 4, 10, 100].map((f) => spacing(300, 1800, f)),
      ["1800", "1800", "1800", "1800"],
    );
    assert.deepEqual(
      [0, 1, 2].map((f) => spacing(100, 250, f)),
      ["100", "200", "250"],
    );
    assert.equal(spacing(300, 300, 5), "300");
  });
});

describe("watchdog: restarts per hour", () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-wd-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const NOW = 1_000_000;
  /** The watchdog's functions with a fixed clock and the rank operations stubbed. */
  const wd = (body: string) =>
    bash(
      [
        `DIR=${shq(dir)}; now() { echo ${NOW}; }`,
        'stop_ranks() { echo STOP_RANKS; }; sidecars_stop() { echo SIDECARS_STOP; }; restart_all() { echo "RESTART_ALL $1"; }',
        "MIN_RESTART_INTERVAL=300; MAX_BACKOFF=1800; CONSEC_FAILED=0; NOTE=",
        body,
      ].join("\n"),
      ["lib.sh", "watchdog.sh"],
    );

  it("keeps only the restarts of the last hour (older ones and junk lines drop out) and counts them", () => {
    writeFileSync(join(dir, "restarts"), [NOW - 7200, NOW - 3600, NOW - 3599, "not-a-time", NOW - 10, ""].join("\n"));
    const r = wd("restarts_last_hour");
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out.trim(), "2");
    assert.equal(readFileSync(join(dir, "restarts"), "utf8"), `${NOW - 3599}\n${NOW - 10}\n`);
  });

  it("at the cap it gives up: stops every rank, removes the sidecars, records why and exits 3", () => {
    rmSync(join(dir, "gave-up"), { force: true });
    writeFileSync(join(dir, "restarts"), `${NOW - 4000}\n${NOW - 1000}\n${NOW - 500}\n`);
    const r = wd("MAX_RESTARTS_PER_HOUR=2; want_restart 'rank lost'");
    assert.equal(r.status, 3, r.out + r.err);
    assert.match(
      r.out,
      /giving up: 2 restart\(s\) in the last hour reached the cap \(maxRestartsPerHour=2\); last problem: rank lost/,
    );
    assert.match(r.out, /STOP_RANKS\nSIDECARS_STOP/);
    assert.doesNotMatch(r.out, /RESTART_ALL/);
    assert.match(readFileSync(join(dir, "gave-up"), "utf8"), /: rank lost\n$/);
  });

  it("under the cap it waits out the spacing after the last restart, then restarts", () => {
    writeFileSync(join(dir, "restarts"), `${NOW - 100}\n`);
    const wait = wd("MAX_RESTARTS_PER_HOUR=3; want_restart 'rank lost'");
    assert.equal(wait.status, 0, wait.err);
    assert.match(
      wait.out,
      /restart needed \(rank lost\), waiting: the last restart began 100 s ago and restarts are at least 300 s apart \(after 0 failed restart\(s\)\)/,
    );
    assert.doesNotMatch(wait.out, /RESTART_ALL/);
    writeFileSync(join(dir, "restarts"), `${NOW - 300}\n`);
    const go = wd("MAX_RESTARTS_PER_HOUR=3; want_restart 'rank lost'");
    assert.match(go.out, /^RESTART_ALL rank lost$/m);
    const backoff = wd("MAX_RESTARTS_PER_HOUR=3; CONSEC_FAILED=1; want_restart 'rank lost'");
    assert.match(
      backoff.out,
      /restarts are at least 600 s apart \(after 1 failed restart\(s\)\)/,
      "doubled after a failed restart",
    );
  });
});

describe("readiness: parsing /v1/models (served_max_model_len)", () => {
  const parse = (json: string, served = "deepseek-v4") => {
    const r = bash(`served_max_model_len ${shq(served)}`, ["lib.sh"], json);
    assert.equal(r.status, 0, r.err);
    return r.out;
  };
  const model = (id: string, len: number, extra: Record<string, unknown> = {}) => ({
    id,
    object: "model",
    owned_by: "vllm",
    max_model_len: len,
    ...extra,
  });

  it("prints max_model_len of the served model", () => {
    assert.equal(
      parse(JSON.stringify({ object: "list", data: [model("deepseek-v4", 1000000, { permission: [{ id: "p" }] })] })),
      "1000000\n",
    );
  });
  it("a wrong max_model_len is printed as it is (the caller compares)", () => {
    assert.equal(parse(JSON.stringify({ data: [model("deepseek-v4", 524288)] })), "524288\n");
  });
  it("other models listed first do not count", () => {
    assert.equal(
      parse(
        JSON.stringify({
          data: [model("other", 4096), model("deepseek-v4-draft", 8192), model("deepseek-v4", 1000000)],
        }),
      ),
      "1000000\n",
    );
  });
  it("keys in any order, and max_model_len before id", () => {
    assert.equal(
      parse('{"data":[{"max_model_len":262144,"root":"x","id":"deepseek-v4"}],"object":"list"}'),
      "262144\n",
    );
    // grep on key order would take the next model's number here
    assert.equal(parse('{"data":[{"max_model_len":7,"id":"deepseek-v4"},{"id":"other","max_model_len":9}]}'), "7\n");
  });
  it("pretty-printed JSON", () => {
    assert.equal(parse(JSON.stringify({ data: [model("a", 1), model("deepseek-v4", 524288)] }, null, 4)), "524288\n");
  });
  it("nothing for malformed JSON, a missing model, or a non-number", () => {
    assert.equal(parse('{"data":[{"id":"deepseek-v4","max_model_len":100'), "");
    assert.equal(parse("<html>502 Bad Gateway</html>"), "");
    assert.equal(parse(""), "");
    assert.equal(parse(JSON.stringify({ data: [model("other", 5)] })), "");
    assert.equal(parse(JSON.stringify({ data: [{ id: "deepseek-v4", max_model_len: "1000000" }] })), "");
    assert.equal(parse(JSON.stringify({ error: "unauthorized" })), "");
    assert.equal(
      parse(JSON.stringify({ data: [model("deepseek-v4", 1)] }), "deepseek"),
      "",
      "the id must match exactly",
    );
  });
  it("a served name with regex and shell characters is matched literally", () => {
    const name = "my.model$(id) 'x'";
    assert.equal(parse(JSON.stringify({ data: [model("myXmodel", 1), model(name, 42)] }), name), "42\n");
  });
});

describe("readiness: model_ready's verdict and message", () => {
  /** model_ready with curl stubbed: /health answers HEALTH, /v1/models prints MODELS (or fails). */
  const ready = (health: string, models: string | null) =>
    bash(
      [
        `curl() { local a; for a; do case $a in */health) echo -n ${shq(health)}; return 0 ;; */v1/models)`,
        models === null
          ? "echo 'curl: (22) The requested URL returned error: 401' >&2; return 22 ;;"
          : `printf '%s' ${shq(models)}; return 0 ;;`,
        "esac; done; }",
        'if model_ready http://127.0.0.1:1 /dev/null 5 10 deepseek-v4 1000000; then echo READY; else echo "NOT READY: $READY_LAST"; fi',
      ].join("\n"),
    ).out.trim();
  const body = (len: number) => JSON.stringify({ data: [{ id: "deepseek-v4", max_model_len: len }] });

  it("ready only when /health is 200 and the served model reports the wanted max_model_len", () => {
    assert.equal(ready("200", body(1000000)), "READY");
    assert.equal(
      ready("200", body(524288)),
      "NOT READY: /v1/models reports max_model_len='524288' for deepseek-v4, expected 1000000",
    );
    assert.equal(ready("503", body(1000000)), "NOT READY: /health: HTTP 503");
    assert.equal(ready("200", null), "NOT READY: /v1/models: curl: (22) The requested URL returned error: 401");
    assert.equal(
      ready("200", "not json"),
      "NOT READY: /v1/models reports max_model_len='' for deepseek-v4, expected 1000000",
    );
  });
});

describe("link.sh: the data plane of a node", () => {
  /** link.sh with two ports, SUDO empty, `ip` stubbed: it logs each call; `holders` hold 10.0.0.2, `addrs` answer addr show dev. */
  const link = (body: string, addrs = "", holders = "") =>
    bash(
      [
        "SUDO=; NODE=spark-worker; MTU=9000; NETDEV=(enp1 enP2); ADDRESS=(10.0.0.2 10.0.1.2); PREFIX=(30 30)",
        `ip() { echo "ip $*" >&2; case "$*" in "-o -4 addr show to 10.0.0.2/32") printf '%s' ${shq(holders)} ;; "-o -4 addr show dev "*) printf '%s' ${shq(addrs)} ;; esac; }`,
        body,
      ].join("\n"),
      ["link.sh"],
    );

  it("link_set: MTU and up on every port, the address added only when missing", () => {
    const r = link("link_set", "2: enp1    inet 10.0.0.2/30 brd 10.0.0.3 scope global enp1\n");
    assert.equal(r.status, 0, r.err);
    const calls = r.err.split("\n").filter((l) => !/addr show/.test(l) && l);
    assert.deepEqual(calls, [
      "ip link set dev enp1 mtu 9000 up",
      "ip link set dev enP2 mtu 9000 up",
      "ip addr add 10.0.1.2/30 dev enP2",
    ]);
  });
  it("link_check: fails naming node, step and interface when the address sits on another interface", () => {
    const ok = link("link_check link-boot && echo OK", "", "3: enp1    inet 10.0.0.2/30\n");
    assert.equal(ok.out, "OK\n", ok.err);
    const taken = link("link_check link-boot", "", "3: docker0    inet 10.0.0.2/30\n");
    assert.equal(taken.status, 1);
    assert.match(
      taken.err,
      /dgx-spark-vllm: node spark-worker: link-boot: 10\.0\.0\.2 is already in use on interface docker0/,
    );
  });
});

describe("oneline", () => {
  it("joins lines and cuts to the width", () => {
    assert.equal(bash("printf 'a\\nb\\nc' | oneline").out, "a b c\n");
    assert.equal(bash("printf '%s' 0123456789 | oneline 4").out, "0123\n");
  });
});
