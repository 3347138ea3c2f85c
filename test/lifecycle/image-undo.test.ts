/**
 * The image tag's undo on a real Docker engine (issue #13): the image-journal step and the
 * `docker save | docker load` transfer, exactly as rendered, run against this machine's engine.
 * One engine stands in for both nodes: on "spark-worker" the plan's tag is called by another
 * name (a `docker` shim on that node's PATH renames it, and after `docker load` tags the loaded
 * image under that name), so the head's and the worker's tag are two tags that can differ.
 * Images are built FROM scratch from local files: no registry.
 *
 * In CI (CI=true) a missing Docker engine fails these tests; elsewhere they are skipped.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { planCluster } from "../../src/plan/cluster";
import { loadClusterConfig } from "../../src/config/load";
import { imagePresenceStep, imageTransferScript } from "../../src/plan/service";
import type { ClusterPlan, NodePlan } from "../../src/plan/types";
import { baseConfig } from "../support/fixtures";
import { docker, IN_CI, RUN_ID, skipWithoutDocker, withScratchJournal } from "./support";

const skip = skipWithoutDocker();
if (skip) console.log(`# ${skip}`);

const REPO = `dsv-image-undo-${RUN_ID}`;
const TAG = `${REPO}:t`; // the plan's tag, as the head sees it
const TAG_W = `${REPO}:on-worker`; // the same tag, as "spark-worker" sees it

describe("the image tag's undo on a real Docker engine", { skip: skip ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dsv-image-undo-"));
  const ids: Record<string, string> = {};
  let shim = "";
  let plan: ClusterPlan;
  let head: NodePlan;
  let worker: NodePlan;

  /** An image FROM scratch holding one file with this text; its ID. */
  function build(name: string, text: string): string {
    const ctx = join(dir, `ctx-${name}`);
    spawnSync("mkdir", ["-p", ctx]);
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY f /f\n");
    writeFileSync(join(ctx, "f"), text);
    const r = spawnSync("docker", ["build", "-q", "-t", `${REPO}:${name}`, ctx], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  }
  const idOf = (tag: string) => {
    const r = docker("image", "inspect", "--format", "{{.Id}}", tag);
    return r.status === 0 ? r.out.trim() : "";
  };
  const env = (onWorker: boolean) => ({
    ...process.env,
    PATH: onWorker ? `${shim}:${process.env.PATH}` : process.env.PATH,
  });
  const run = (text: string, onWorker: boolean, journal = "journal") => {
    const r = spawnSync("bash", ["-c", withScratchJournal(text, join(dir, journal))], {
      encoding: "utf8",
      env: env(onWorker),
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    return r;
  };
  /** The transfer as rendered, with the worker's access pointed at this engine through the shim. */
  const transfer = () => {
    const access = {
      [head.name]: ["bash", "-c"],
      [worker.name]: ["env", `PATH=${shim}:${process.env.PATH}`, "bash", "-c"],
    };
    const r = spawnSync("bash", ["-c", imageTransferScript(plan, head, worker, access, 1)], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    return r;
  };
  const planFor = (instance?: string) => {
    const c = baseConfig();
    c.image = { source: "build", tag: TAG, allowUnpinned: true };
    const { config } = loadClusterConfig(c, "plan");
    return planCluster(config, [], instance ? { instance } : {});
  };

  before(() => {
    assert.ok(!IN_CI || !skip);
    ids.old = build("old", "the worker's own older image\n");
    ids.ours = build("ours", "the image this deployment built\n");
    ids.gone = build("gone", "an image pruned while the deployment ran\n");
    assert.equal(docker("tag", ids.ours as string, TAG).status, 0);
    shim = join(dir, "worker-bin");
    spawnSync("mkdir", ["-p", shim]);
    const real = spawnSync("bash", ["-c", "command -v docker"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(
      join(shim, "docker"),
      [
        "#!/bin/bash",
        `# On "spark-worker" the plan's tag ${TAG} is called ${TAG_W}.`,
        `if [ "$1" = load ]; then ${real} load >/dev/null || exit 1; exec ${real} tag ${TAG} ${TAG_W}; fi`,
        `args=(); for a; do if [ "$a" = ${TAG} ]; then a=${TAG_W}; fi; args+=("$a"); done`,
        `exec ${real} "\${args[@]}"`,
      ].join("\n"),
    );
    chmodSync(join(shim, "docker"), 0o755);
    plan = planFor();
    head = plan.nodes.find((n) => n.name === plan.cluster.head) as NodePlan;
    worker = plan.nodes.find((n) => n.name !== plan.cluster.head) as NodePlan;
  });
  after(() => {
    for (const t of ["old", "ours", "gone", "t", "on-worker"]) docker("image", "rm", "-f", `${REPO}:${t}`);
    for (const id of Object.values(ids)) docker("image", "rm", "-f", id);
    rmSync(dir, { recursive: true, force: true });
  });

  it("the worker had an older image under the tag: destroy puts the tag back on it", () => {
    assert.equal(docker("tag", ids.old as string, TAG_W).status, 0);
    const step = imagePresenceStep(plan, worker);
    run(step.create, true);
    const t = transfer();
    assert.match(
      t.stdout,
      new RegExp(`^image ${TAG}: copying from spark-head to spark-worker \\(~[\\d.]+ (B|KB|MB)`, "m"),
    );
    assert.match(t.stdout, new RegExp(`^image ${TAG} -> spark-worker: done, [\\d.]+ (B|KB|MB) in \\d+ s`, "m"));
    assert.equal(idOf(TAG_W), ids.ours, "the worker has our image under the tag");
    assert.doesNotMatch(transfer().stdout, /copying/, "the same image ID again: nothing is copied");
    const d = run(step.delete, true);
    assert.match(d.stdout, new RegExp(`spark-worker: ${TAG} names its previous image again: ${ids.old}`));
    assert.equal(idOf(TAG_W), ids.old, "the tag names the worker's own image again");
    assert.equal(idOf(TAG), ids.ours, "the head's tag is not the worker's business");
  });

  it("the worker had no image under the tag: destroy removes the tag", () => {
    docker("image", "rm", TAG_W);
    assert.equal(idOf(TAG_W), "");
    const step = imagePresenceStep(plan, worker);
    run(step.create, true);
    transfer();
    assert.equal(idOf(TAG_W), ids.ours);
    run(step.delete, true);
    assert.equal(idOf(TAG_W), "", "no tag, as before");
    assert.equal(idOf(ids.old as string), ids.old, "other images untouched");
  });

  it("the older image was removed meanwhile: destroy says so and removes the tag", () => {
    assert.equal(docker("tag", ids.gone as string, TAG_W).status, 0);
    const step = imagePresenceStep(plan, worker);
    run(step.create, true);
    transfer();
    assert.equal(docker("image", "rm", ids.gone as string).status, 0, "the old image, untagged by the load, is pruned");
    const d = run(step.delete, true);
    assert.match(
      d.stderr,
      new RegExp(`spark-worker: ${TAG} named ${ids.gone} before, which is gone: removing the tag`),
    );
    assert.equal(idOf(TAG_W), "");
  });

  it("two clusters hold the tag: the first destroy leaves it, the last puts the older image back", () => {
    assert.equal(docker("tag", ids.old as string, TAG_W).status, 0);
    const blue = planFor("blue");
    const green = planFor("green");
    const at = (p: ClusterPlan) => p.nodes.find((n) => n.name === worker.name) as NodePlan;
    run(imagePresenceStep(blue, at(blue)).create, true, "shared");
    transfer();
    run(imagePresenceStep(green, at(green)).create, true, "shared");
    const d = run(imagePresenceStep(blue, at(blue)).delete, true, "shared");
    assert.match(d.stderr, /stays as it is: still held by dgx-spark-vllm-green/);
    assert.equal(idOf(TAG_W), ids.ours, "green still runs on our image");
    run(imagePresenceStep(green, at(green)).delete, true, "shared");
    assert.equal(idOf(TAG_W), ids.old);
  });
});
