/**
 * The serving lifecycle's host part, for real on a simulated Spark: the watchdog's install step
 * (as VllmService renders it) puts its files and unit in place, runs it as the SSH user with the
 * API key readable by that user only, survives a reboot, and its delete leaves the head as it was.
 * (What the watchdog does with containers is rehearsed on a real Docker engine in test/lifecycle.)
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import {
  WATCHDOG_BIN,
  WATCHDOG_SCRIPT,
  WATCHDOG_SERVICE_FILE,
  WATCHDOG_STATE_DIR,
  WATCHDOG_UNIT,
  watchdogStep,
} from "../../src/plan/watchdog";
import type { ClusterPlan } from "../../src/plan/types";
import { HEAD, hostSpecs, rehearsalConfig, rehearsalPlan } from "./cluster";
import { labUnavailable, SimLab, type Conn } from "./lab";

const unavailable = labUnavailable();
const skip = unavailable && process.env.CI !== "true" ? `simulated hosts: ${unavailable}` : false;
const KEY = ["k", "watchdog", "rehearsal"].join("-");

describe("watchdog unit on a simulated head", { skip }, () => {
  let lab: SimLab;
  let plan: ClusterPlan;
  let conn: Conn;
  let baseline = "";
  /** The user of the watchdog's process (the child of the stand-in's runuser), or "" when none runs. */
  const runningAs = () =>
    lab
      .exec(
        HEAD,
        `p=/var/lib/dsv-sim/systemd/pids/${WATCHDOG_UNIT}.service; [ -f $p ] && kill -0 "$(cat $p)" 2>/dev/null && ps -o user= --ppid "$(cat $p)" | head -n1`,
      )
      .stdout.trim();

  before(async () => {
    lab = await SimLab.start(hostSpecs());
    plan = rehearsalPlan(rehearsalConfig(lab));
    const h = lab.host(HEAD);
    conn = { host: h.mgmt, user: "spark", privateKey: lab.clientKey, hostKey: h.hostKey };
    baseline = lab.snapshot(HEAD);
  });
  after(() => lab?.stop());

  it("installs: files, enabled unit, running as the SSH user, API key in a 0600 file of that user only", async () => {
    const step = watchdogStep(plan);
    assert.ok(!step.create.includes(KEY));
    const r = await lab.ssh(conn, step.create, `${KEY}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lab.must(HEAD, `stat -c '%a %U' ${WATCHDOG_SCRIPT} ${WATCHDOG_BIN}`), "755 root\n755 root\n");
    assert.match(
      lab.must(HEAD, `cat ${WATCHDOG_SERVICE_FILE}`),
      new RegExp(`^User=spark$[\\s\\S]*^ExecStart=${WATCHDOG_SCRIPT} run$`, "m"),
    );
    assert.equal(lab.must(HEAD, `systemctl is-enabled ${WATCHDOG_UNIT}.service`).trim(), "enabled");
    assert.equal(lab.must(HEAD, `stat -c '%a %U' ${WATCHDOG_STATE_DIR}/auth-header`).trim(), "600 spark");
    assert.equal(lab.must(HEAD, `cat ${WATCHDOG_STATE_DIR}/auth-header`).trim(), `Authorization: Bearer ${KEY}`);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(runningAs(), "spark");
    // The operator command works for the SSH user.
    const st = await lab.ssh(conn, "dgx-spark-vllm-watchdog status");
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /active|waiting|restarts/i);
  });

  it("comes back after a reboot", async () => {
    lab.reboot(HEAD);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(runningAs(), "spark");
  });

  it("delete stops it and leaves the head exactly as before", async () => {
    const r = await lab.ssh(conn, watchdogStep(plan).delete);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(runningAs(), "");
    assert.equal(lab.snapshot(HEAD), baseline);
  });
});
