/**
 * The host scripts' functions, called directly: bash sources src/host/lib.sh and
 * src/host/watchdog.sh (which defines its functions without running its main loop when sourced)
 * with controlled variables and stubs, instead of reaching them only through the Docker rehearsal.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { localAccess } from "../../src/plan/access";
import { planFromInput } from "../../src/plan/cluster";
import { cacheStep } from "../../src/plan/host";
import { readinessScript } from "../../src/plan/service";
import { baseConfig } from "../support/fixtures";
import { hostNames } from "../../src/plan/names";
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

describe("journal.sh: holders of a shared host setting", () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-holders-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** hold/release as cluster HOLDER, with the journal in the temp folder. */
  const as = (holder: string, body: string) =>
    bash(`SUDO=; J=${shq(dir)}; HOLDER=${shq(holder)}\n${body}`, ["journal.sh"]);
  const released = (holder: string, key: string) => {
    const r = as(holder, `if release ${shq(key)}; then echo LAST; else echo HELD; fi`);
    assert.equal(r.status, 0, r.err);
    return { verdict: r.out.trim(), err: r.err };
  };

  it("the last holder restores, in either order; others leave the setting as it is and say who holds it", () => {
    for (const [first, second] of [
      ["dgx-spark-vllm-a", "dgx-spark-vllm-b"],
      ["dgx-spark-vllm-b", "dgx-spark-vllm-a"],
    ] as const) {
      assert.equal(as("dgx-spark-vllm-a", "hold swaps; hold swaps").status, 0);
      assert.equal(as("dgx-spark-vllm-b", "hold swaps").status, 0);
      assert.equal(
        readFileSync(join(dir, "swaps.holders"), "utf8"),
        "dgx-spark-vllm-a\ndgx-spark-vllm-b\n",
        "once each",
      );
      const one = released(first, "swaps");
      assert.equal(one.verdict, "HELD");
      assert.match(one.err, new RegExp(`swaps stays as it is: still held by ${second}`));
      assert.equal(readFileSync(join(dir, "swaps.holders"), "utf8"), `${second}\n`);
      assert.equal(released(second, "swaps").verdict, "LAST");
      assert.throws(() => readFileSync(join(dir, "swaps.holders")), /ENOENT/, "the list goes with the last holder");
    }
  });
  it("a record without a holder list (written before holders existed) is restored by its delete", () => {
    assert.equal(released("dgx-spark-vllm", "vm.min_free_kbytes").verdict, "LAST");
  });
  it("a cluster that never held a setting (its create failed early) restores nothing another one holds", () => {
    as("dgx-spark-vllm-a", "hold link%enp1");
    assert.equal(released("dgx-spark-vllm-b", "link%enp1").verdict, "HELD");
    assert.equal(readFileSync(join(dir, "link%enp1.holders"), "utf8"), "dgx-spark-vllm-a\n");
  });
  it("a create's record-and-hold runs under one lock: hold inside it does not wait on itself, and another cluster waits", async () => {
    const nested = as(
      "dgx-spark-vllm-a",
      `holders_lock; hold gpu; [ -d "$J/.holders.lock" ] && echo HELD; holders_unlock; [ -e "$J/.holders.lock" ] || echo FREE`,
    );
    assert.equal(nested.out, "HELD\nFREE\n", "the lock stays until the outermost unlock, then goes");
    assert.doesNotMatch(nested.err, /held for 30 s/, "hold inside the lock did not wait for the lock it holds");
    // a's record takes a second under the lock; b, starting meanwhile, records only after it.
    const log = join(dir, "order");
    const prelude = `SUDO=; J=${shq(dir)}\n${readFileSync(join(HOST_DIR, "journal.sh"), "utf8")}`;
    const a = spawn("bash", [
      "-c",
      `${prelude}\nHOLDER=a; holders_lock; echo a-in >>${shq(log)}; sleep 1; echo a-out >>${shq(log)}; holders_unlock`,
    ]);
    // b starts once a holds the lock (a fixed wait lost that race on a loaded machine).
    for (let t0 = Date.now(); !existsSync(log) && Date.now() - t0 < 10_000; )
      await new Promise((r) => setTimeout(r, 20));
    const b = spawnSync("bash", ["-c", `${prelude}\nHOLDER=b; holders_lock; echo b-in >>${shq(log)}; holders_unlock`]);
    await new Promise((r) => (a.exitCode === null ? a.on("exit", r) : r(null)));
    assert.equal(b.status, 0);
    assert.equal(readFileSync(log, "utf8"), "a-in\na-out\nb-in\n");
    assert.ok(!existsSync(join(dir, ".holders.lock")));
  });
  it("names are matched whole: a holder whose name contains another's is not mistaken for it", () => {
    as("dgx-spark-vllm-ab", "hold netplan");
    assert.equal(released("dgx-spark-vllm-a", "netplan").verdict, "HELD");
    assert.equal(released("dgx-spark-vllm-ab", "netplan").verdict, "LAST");
  });
});

describe("the cache-folder step of two clusters on one host (rendered scripts, real folders)", () => {
  const root = mkdtempSync(join(tmpdir(), "dgx-caches-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  /** A rendered step with its journal moved into the temp root (it runs as root here: SUDO stays empty). */
  const run = (text: string) => {
    const r = spawnSync("bash", ["-c", text.replace(/^J=.*$/m, `J=${shq(join(root, "journal"))}`)], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    return r;
  };
  it("the folders one cluster created stay while the other still uses them, and go with the last", () => {
    const cache = join(root, "home", ".cache");
    const dirs = {
      root: cache,
      huggingface: `${cache}/huggingface`,
      vllm: `${cache}/vllm`,
      flashinfer: `${cache}/flashinfer`,
      triton: `${cache}/triton`,
    };
    const a = cacheStep(dirs, hostNames("a"));
    const b = cacheStep(dirs, hostNames("b"));
    run(a.create);
    run(b.create);
    assert.ok(existsSync(dirs.huggingface));
    run(a.delete);
    assert.ok(existsSync(dirs.huggingface), "b still uses the folders a created");
    run(b.delete);
    assert.ok(!existsSync(cache), "the last cluster's delete removes the empty folders");
    assert.ok(!existsSync(join(root, "journal")), "and the emptied journal");
    assert.ok(existsSync(join(root, "home")), "a folder that was there before stays");
  });
});

describe("watchdog: the update's bounded hold", () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-hold-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const NOW = 2_000_000;
  /** The watchdog's functions with a settable clock (file `clock`) and the rank operations stubbed. */
  const wd = (body: string, at = NOW) =>
    bash(
      [
        `DIR=${shq(dir)}; now() { echo ${at}; }; nap() { :; }; HOLD_WAIT=3`,
        "stop_ranks() { echo STOP_RANKS; }; sidecars_start() { echo SIDECARS_START; }; sidecars_stop() { echo SIDECARS_STOP; }",
        'on_node() { echo "ON_NODE $1 $2"; }; wait_memory() { return 0; }',
        "declare -A CONTAINER=([w]=c-w [h]=c-h); START_ORDER=(w h); STOP_ORDER=(h w)",
        "MIN_RESTART_INTERVAL=300; MAX_BACKOFF=1800; MAX_RESTARTS_PER_HOUR=3; CONSEC_FAILED=0; NOTE=; RESTARTING=0",
        "SERVED=deepseek-v4; MAX_MODEL_LEN=1000000",
        body,
      ].join("\n"),
      ["lib.sh", "watchdog.sh"],
    );

  it("holds until its end, then expires by itself (said once in the log) and the watchdog goes on", () => {
    const h = wd("hold 2400 'pulumi up replacing containers'");
    assert.equal(h.status, 0, h.err);
    assert.match(h.out, /held for at most 2400 s \(pulumi up replacing containers\)/);
    assert.match(
      readFileSync(join(dir, "held"), "utf8"),
      new RegExp(`^${NOW + 2400} pulumi up replacing containers \\(by `),
    );
    assert.equal(wd("held && echo HELD", NOW + 2399).out.trim(), "HELD", "still held one second before its end");
    const st = wd("status", NOW + 10);
    assert.match(st.out, /^held until \S+: pulumi up replacing containers/);
    const late = wd("if held; then echo HELD; else echo FREE; fi", NOW + 2400);
    assert.match(
      late.out,
      /the hold \(pulumi up replacing containers \(by .*\)\) expired without an unhold: probing again\nFREE/,
    );
    assert.ok(!existsSync(join(dir, "held")), "the expired hold is gone");
    assert.equal(wd("if held; then echo HELD; else echo FREE; fi", NOW + 2400).out.trim(), "FREE", "said only once");
  });
  it("unhold (readiness passed) ends it at once; an operator's pause is not touched by it", () => {
    writeFileSync(join(dir, "paused"), "firmware\n");
    wd("hold 600 update");
    const r = spawnSync(
      "bash",
      [
        "-c",
        `source ${shq(join(HOST_DIR, "lib.sh"))}; source ${shq(join(HOST_DIR, "watchdog.sh"))}; STATE_DIR=${shq(dir)}; main unhold`,
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /unheld: probing again/);
    assert.ok(!existsSync(join(dir, "held")));
    assert.ok(existsSync(join(dir, "paused")), "the durable pause stays");
    rmSync(join(dir, "paused"));
  });
  it("a hold that arrives during a restart abandons it: no rank is started, the sidecars go, the ranks are left alone", () => {
    writeFileSync(join(dir, "restarts"), "");
    writeFileSync(join(dir, "held"), `${NOW + 600} pulumi up\n`);
    const r = wd("restart_all 'rank lost'");
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /restart abandoned: paused or held while restarting/);
    assert.doesNotMatch(r.out, /STOP_RANKS|started [wh]$/m);
    assert.match(r.out, /SIDECARS_STOP/);
    assert.ok(!existsSync(join(dir, "restarting")));
    rmSync(join(dir, "held"));
    // without a hold the same restart starts both ranks in order
    const go = wd("wait_ready() { return 0; }; restart_all 'rank lost'");
    assert.equal(go.status, 0, go.err);
    assert.match(go.out, /STOP_RANKS[\s\S]*watchdog: started w\n[\s\S]*watchdog: started h\n[\s\S]*watchdog: ready: /);
  });
  it("hold waits (bounded) for a restart in progress to let go; without one it returns at once", () => {
    writeFileSync(join(dir, "restarting"), "");
    const r = wd("hold 60 update");
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /a restart still looks in progress after 3 s/);
    rmSync(join(dir, "restarting"));
    const quick = wd("hold 60 update");
    assert.doesNotMatch(quick.out, /still looks in progress/);
    assert.equal(wd("hold soon update").status, 2, "a duration is required");
  });
});

describe("progress lines (progress.sh)", () => {
  it("copy_progress copies every byte unchanged and reports size, percent (never 100 before the end) and rate", () => {
    const r = spawnSync(
      "bash",
      [
        "-c",
        `source ${shq(join(HOST_DIR, "progress.sh"))}; exec 3>"$P"; head -c 5000000 /dev/urandom | tee "$A" | copy_progress 5000000 'image t -> w' 0 3 > "$B"`,
      ],
      {
        encoding: "utf8",
        env: {
          ...process.env,
          A: join(tmpdir(), `dgx-cp-a-${process.pid}`),
          B: join(tmpdir(), `dgx-cp-b-${process.pid}`),
          P: join(tmpdir(), `dgx-cp-p-${process.pid}`),
        },
      },
    );
    try {
      assert.equal(r.status, 0, r.stderr);
      const a = readFileSync(join(tmpdir(), `dgx-cp-a-${process.pid}`));
      const b = readFileSync(join(tmpdir(), `dgx-cp-b-${process.pid}`));
      assert.ok(a.equals(b), "the stream passes through unchanged");
      const lines = readFileSync(join(tmpdir(), `dgx-cp-p-${process.pid}`), "utf8")
        .trim()
        .split("\n");
      assert.ok(lines.length >= 2, lines.join("\n"));
      for (const l of lines.slice(0, -1)) {
        const m = /^image t -> w: [\d.]+ (B|KB|MB) of ~5\.0 MB \((\d+)%\), [\d.]+ (B|KB|MB|GB)\/s, \d+ s$/.exec(l);
        assert.ok(m, l);
        assert.ok(Number(m[2]) <= 99, l);
      }
      assert.match(lines.at(-1) as string, /^image t -> w: done, 5\.0 MB in \d+ s \([\d.]+ (KB|MB|GB)\/s\)$/);
    } finally {
      for (const f of ["a", "b", "p"]) rmSync(join(tmpdir(), `dgx-cp-${f}-${process.pid}`), { force: true });
    }
  });
  it("human_seconds and human_bytes", () => {
    const r = bash(
      "human_seconds 45; human_seconds 185; human_seconds 3720; human_bytes 999; human_bytes 21300000000; echo",
      ["progress.sh"],
    );
    assert.equal(r.out, "45 s\n3m05s\n1h02m\n999 B21.3 GB\n");
  });
});

describe("readiness: what pulumi up shows while it waits (the rendered gate, curl stubbed)", () => {
  it("names the pending check when it changes and every PROGRESS seconds, then how long it took; never the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "dgx-ready-"));
    try {
      const plan = planFromInput(baseConfig(), "plan");
      const head = plan.nodes.find((n) => n.name === plan.cluster.head)!;
      // /health: 503 for the first 3 calls; /v1/models: the wrong length twice, then the right one.
      writeFileSync(
        join(dir, "curl"),
        [
          "#!/bin/bash",
          `c=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((c + 1)) > ${dir}/n`,
          "for a; do case $a in",
          '  */health) if [ "$c" -lt 3 ]; then echo -n 503; else echo -n 200; fi; exit 0 ;;',
          `  */v1/models) if [ "$c" -lt 8 ]; then echo '{"data":[{"id":"deepseek-v4","max_model_len":4096}]}'; else echo '{"data":[{"id":"deepseek-v4","max_model_len":1000000}]}'; fi; exit 0 ;;`,
          "esac; done",
        ].join("\n"),
        { mode: 0o755 },
      );
      const text = readinessScript(plan, head, 60, 1, localAccess(plan), 2);
      const key = "sk-readiness-secret-4711";
      const r = spawnSync("bash", ["-c", text], {
        input: `${key}\n`,
        encoding: "utf8",
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(
        lines[0],
        "readiness on spark-head: waiting up to 1m00s for deepseek-v4 to report max_model_len=1000000",
      );
      assert.match(
        lines[1] as string,
        /^readiness on spark-head: waiting for \/health to answer 200, 0 s of 1m00s \(last: \/health: HTTP 503\)$/,
      );
      const passed = lines.findIndex((l) => /^readiness on spark-head: \/health passed after \d+ s$/.test(l));
      assert.ok(passed > 1, r.stdout);
      assert.match(
        lines[passed + 1] as string,
        /^readiness on spark-head: waiting for \/v1\/models to report max_model_len=1000000, \d+ s of 1m00s \(last: \/v1\/models reports max_model_len='4096' for deepseek-v4, expected 1000000\)$/,
      );
      // a repeat line for the same pending check only after PROGRESS (2 s): fewer lines than polls
      const waiting = lines.filter((l) => /waiting for \/v1\/models/.test(l)).length;
      assert.ok(waiting >= 1 && waiting <= 3, r.stdout);
      assert.match(lines.at(-1) as string, /^ready: deepseek-v4 max_model_len=1000000 after \d+ s$/);
      assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key), "the API key is never printed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("journal.sh: two clusters releasing at the same moment", () => {
  it("exactly one of them is the last holder (the list is changed under a lock), every time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dgx-holders-race-"));
    try {
      const src = `source ${shq(join(HOST_DIR, "journal.sh"))}; SUDO=; J=${shq(dir)}`;
      const rounds = 20;
      const r = spawnSync(
        "bash",
        [
          "-c",
          [
            src,
            `for i in $(seq ${rounds}); do`,
            "  HOLDER=a hold k; HOLDER=b hold k",
            '  ( HOLDER=a; if release k 2>/dev/null; then echo "$i LAST"; fi ) &',
            '  ( HOLDER=b; if release k 2>/dev/null; then echo "$i LAST"; fi ) &',
            "  wait",
            "done",
          ].join("\n"),
        ],
        { encoding: "utf8" },
      );
      assert.equal(r.status, 0, r.stderr);
      const last = r.stdout.trim().split("\n").filter(Boolean);
      assert.deepEqual(
        last.map((l) => l.split(" ")[0]),
        Array.from({ length: rounds }, (_, i) => String(i + 1)),
        "one LAST per round",
      );
      assert.ok(!existsSync(join(dir, ".holders.lock")), "no lock left behind");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
