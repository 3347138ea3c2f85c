/**
 * Composing the components by hand: a SparkNode from its own slice (no cluster), Output config
 * values, the component's opts (providers, transformations, dependsOn) reaching every child, and
 * the plan's warnings shown once each, whether composed by hand or through the cluster.
 */
import {
  recordTransformation,
  settle,
  promiseOf,
  unwrap,
  isSecret,
  wireInputsByName,
  wireProviderByName,
  type Recorded,
} from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SparkNode, hardeningSteps } from "../../src/components/spark-node";
import { RoceLink } from "../../src/components/roce-link";
import { VllmImage } from "../../src/components/vllm-image";
import { VllmService } from "../../src/components/vllm-service";
import { DeepSeekV4Cluster } from "../../src/components/cluster";
import { loadClusterConfig } from "../../src/config/load";
import { planCluster } from "../../src/plan/cluster";
import { umaMonitorStep } from "../../src/plan/monitor";
import { baseConfig } from "../support/fixtures";
import { warningOwner, type WarningOwner } from "../../src/components/common";
import type { ConfigProblem } from "../../src/config/errors";

const KEY = "SOLO-KEY-BODY";

function under(all: Map<string, Recorded>, prefix: string): Recorded[] {
  return [...all.values()].filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`));
}

/** What the components print as Pulumi warnings while `f` runs (under mocks they go to console.warn). */
function warningsDuring(f: () => void): string[] {
  const out: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    out.push(a.map(String).join(" "));
  };
  try {
    f();
  } finally {
    console.warn = warn;
  }
  return out;
}

test("a hardened-only SparkNode needs its own slice alone: no plan, no cluster config, no docker plugin", async () => {
  const opts = { transformations: [recordTransformation] };
  const solo = new SparkNode(
    "solo",
    { name: "spark-a", connection: { host: "10.1.2.3", user: "spark", privateKey: pulumi.secret(KEY) } },
    opts,
  );
  const all = await settle();
  const mine = under(all, "solo");
  // reachable, the default hardening (min_free_kbytes, swap off) and the UMA monitor; nothing else
  assert.deepEqual(mine.map((r) => r.name).sort(), [
    "solo",
    "solo-min-free-kbytes",
    "solo-reachable",
    "solo-swap-off",
    "solo-uma-monitor",
  ]);
  const defaults = hardeningSteps();
  assert.deepEqual(
    defaults.map((s) => s.id),
    ["min-free-kbytes", "swap-off"],
  );
  for (const s of defaults) {
    const r = all.get(`solo-${s.id}`) as Recorded;
    assert.equal(r.inputs.create, s.create);
    assert.equal(r.inputs.delete, s.delete);
    assert.ok(r.dependsOn.includes("solo-reachable"), `${s.id} runs after the node answers`);
  }
  assert.match(defaults[0]?.create ?? "", /3145728/, "the config's default min_free_kbytes");
  assert.equal((all.get("solo-uma-monitor") as Recorded).inputs.create, umaMonitorStep("spark-a", 6).create);
  const conn = (all.get("solo-reachable") as Recorded).inputs.connection;
  assert.ok(isSecret(conn), "the connection holds the key: secret");
  assert.deepEqual(
    { ...unwrap(conn), privateKey: undefined },
    {
      host: "10.1.2.3",
      port: 22,
      user: "spark",
      privateKey: undefined,
      dialErrorLimit: 30,
      perDialTimeout: 15,
    },
  );
  assert.ok(!mine.some((r) => r.type.startsWith("pulumi:providers:")), "no provider plugin loaded");
  assert.equal(await promiseOf(solo.dockerHost), "ssh://spark@10.1.2.3:22");
  assert.equal(await promiseOf(solo.gpu), "", "no preflight given: no gpu check");
});

test("an Output host (another resource's address) flows into the connection and the docker host", async () => {
  const opts = { transformations: [recordTransformation] };
  // Stands for an address another stack or resource exports: known only at deploy time.
  const elsewhere = new command.remote.Command("elsewhere", { connection: { host: "x" }, create: "true" });
  const host = elsewhere.stdout.apply(() => "10.9.8.7");
  const n = new SparkNode(
    "outhost",
    { name: "spark-o", connection: { host, port: 2222, user: "spark" }, hostSteps: [], umaMonitor: false },
    opts,
  );
  const v6 = new SparkNode(
    "outhost6",
    {
      name: "spark-6",
      connection: { host: elsewhere.stdout.apply(() => "fd00::7"), user: "spark" },
      hostSteps: [],
      umaMonitor: false,
    },
    opts,
  );
  const all = await settle();
  assert.equal(unwrap((all.get("outhost-reachable") as Recorded).inputs.connection).host, "10.9.8.7");
  assert.equal(await promiseOf(n.dockerHost), "ssh://spark@10.9.8.7:2222");
  assert.equal(await promiseOf(v6.dockerHost), "ssh://spark@[fd00::7]:22");
  assert.ok(n.dockerSshOpts.join(" ").endsWith("-p 2222"), n.dockerSshOpts.join(" "));
  // a docker provider made for the node connects to that address
  const image = new VllmImage(
    "outimg",
    {
      tag: "ghcr.io/example/vllm:1",
      nodes: [
        {
          node: n,
          presence: { id: "pull", description: "note", create: "true", delete: "true", after: [] },
          idScript: "true",
        },
      ],
      build: { node: n, context: "docker", dockerfile: "docker/Dockerfile" },
    },
    opts,
  );
  assert.ok(image.build);
  await settle();
  assert.equal(wireInputsByName.get("outimg-spark-o-docker")?.host, "ssh://spark@10.9.8.7:2222");
});

test("a component's providers, transformations and dependsOn reach every child", async () => {
  const cmd = new command.Provider("my-command", {});
  const gate = new command.remote.Command("gate", { connection: { host: "x" }, create: "true" });
  const seen = new Set<string>();
  const seeAll: pulumi.ResourceTransformation = (a) => {
    seen.add(a.name);
    return undefined;
  };
  const plan = planCluster(loadClusterConfig(baseConfig(), "deploy").config);
  const opts = { providers: [cmd], transformations: [recordTransformation, seeAll], dependsOn: [gate] };
  const nodes = plan.nodes.map(
    (n) => new SparkNode(`po-${n.name}`, SparkNode.fromPlan(plan, { node: n.name, privateKey: "k" }), opts),
  );
  const link = new RoceLink("po-link", RoceLink.fromPlan(plan, { nodes }), opts);
  const image = new VllmImage("po-image", VllmImage.fromPlan(plan, { nodes }), {
    ...opts,
    dependsOn: [gate, ...link.ready],
  });
  new VllmService("po-service", VllmService.fromPlan(plan, { nodes, image, apiKey: "a", hfToken: "h" }), opts);
  const all = await settle();
  const children = [...all.values()].filter((r) => r.name.startsWith("po-") && r.parent !== undefined);
  assert.ok(children.length > 40, `only ${children.length} children`);
  for (const r of children) {
    assert.ok(seen.has(r.name), `${r.name} missed the transformation`);
    if (r.type === "command:remote:Command") {
      assert.match(
        String(wireProviderByName.get(r.name)),
        /::my-command::/,
        `${r.name} did not get the command provider`,
      );
    }
    if (r.type.startsWith("pulumi:providers:")) continue; // a provider waits for its node's readiness only
    assert.ok(r.dependsOn.includes("gate"), `${r.name} does not wait for the component's dependsOn`);
  }
  // the image waits for the link given in opts (VllmImageArgs has no dependsOn of its own)
  for (const n of plan.nodes)
    assert.ok(
      (all.get(`po-image-${n.name}-image-journal`) as Recorded).dependsOn.includes(
        "po-link-ping-spark-head-spark-worker-t0",
      ),
    );
  // the same through the cluster: its dependsOn reaches every resource below its components
  new DeepSeekV4Cluster("poc", { config: loadClusterConfig(baseConfig(), "deploy").config }, opts);
  const again = await settle();
  const below = [...again.values()].filter(
    (r) =>
      r.name.startsWith("poc-") && !r.type.startsWith("dgx-spark-vllm:") && !r.type.startsWith("pulumi:providers:"),
  );
  assert.ok(below.length > 40, `only ${below.length}`);
  for (const r of below) assert.ok(r.dependsOn.includes("gate"), `${r.name} does not wait for the cluster's dependsOn`);
  // a dependsOn the children cannot take is refused, not dropped
  assert.throws(
    () =>
      new SparkNode(
        "po-bad",
        { name: "x", connection: { host: "h" } },
        { dependsOn: pulumi.output([gate]) as unknown as pulumi.Resource[] },
      ),
    /opts.dependsOn must be a resource or a list/,
  );
});

/** A config whose plan warns about every kind of owner: a node, the link, the image, serving, and the cluster as a whole. */
function warningConfig(): { config: ReturnType<typeof loadClusterConfig>["config"]; warnings: ConfigProblem[] } {
  const input = baseConfig();
  input.link = { mtu: 1500 }; // link.mtu
  input.serving.gpuMemoryUtilization = 0.85; // serving.gpuMemoryUtilization (and the memory model's)
  input.serving.acknowledgeHighUtilization = true;
  input.image = { source: "build", allowUnpinned: true }; // image.allowUnpinned
  input.hardening = { umaAlertThresholdGb: 20 }; // hardening.umaAlertThresholdGb: every node, no one component
  // observability.<x>.image pinned by tag only (the defaults): the cluster as a whole
  input.observability = { enabled: true, grafana: { adminPassword: "obs-admin-pass" } };
  const { config, warnings } = loadClusterConfig(input, "deploy");
  const extra = { path: "nodes[1].dataPlane[0].address", message: "is a test warning about the worker" };
  return { config, warnings: [...warnings, extra] };
}

test("every plan warning shows exactly once, on the component it concerns or else on the first one built: by hand as through the cluster", () => {
  const { config, warnings } = warningConfig();
  const plan = planCluster(config, warnings);
  const line = (w: ConfigProblem) => `warning: [runtime] ${w.path} ${w.message}`;
  const owners = plan.warnings.map((w) => warningOwner(w.path));
  const wide = plan.warnings.filter((w) => /^(hardening|observability)(\.|$)/.test(w.path)).map(line);
  assert.deepEqual(wide, plan.warnings.filter((_, i) => owners[i] === "plan").map(line));
  // Every kind of owner is in this plan, the cluster-wide ones from two config sections.
  for (const o of ["link", "image", "service", "plan"]) assert.ok(owners.includes(o as WarningOwner), o);
  assert.ok(owners.some((o) => typeof o === "object" && o.node === 1));
  assert.ok(
    wide.some((t) => / hardening\.umaAlertThresholdGb /.test(t)) && wide.some((t) => / observability\./.test(t)),
  );

  // By hand, in the order a program builds them.
  const shown: Record<string, string[]> = {};
  let nodes: SparkNode[] = [];
  shown.nodes = warningsDuring(() => {
    nodes = plan.nodes.map(
      (n) => new SparkNode(`w-${n.name}`, SparkNode.fromPlan(plan, { node: n.name, privateKey: "k" })),
    );
  });
  shown.link = warningsDuring(() => new RoceLink("w-link", RoceLink.fromPlan(plan, { nodes })));
  let image: VllmImage | undefined;
  shown.image = warningsDuring(() => {
    image = new VllmImage("w-image", VllmImage.fromPlan(plan, { nodes }));
  });
  shown.service = warningsDuring(
    () =>
      new VllmService(
        "w-service",
        VllmService.fromPlan(plan, { nodes, image: image as VllmImage, apiKey: "a", hfToken: "h" }),
      ),
  ).filter((w) => !w.includes("pidsLimit")); // the service's own, not the plan's
  const byHand = Object.values(shown).flat();
  for (const w of plan.warnings)
    assert.equal(byHand.filter((t) => t === line(w)).length, 1, `shown once by hand: ${line(w)}`);
  assert.equal(byHand.length, plan.warnings.length, byHand.join("\n"));
  // Each on its own component; the cluster-wide ones on the first built (the head's SparkNode).
  const firstNode = warningsDuring(() => {
    const again = planCluster(config, warnings);
    new SparkNode("w2-head", SparkNode.fromPlan(again, { node: "spark-head", privateKey: "k" }));
    new SparkNode("w2-worker", SparkNode.fromPlan(again, { node: "spark-worker", privateKey: "k" }));
  });
  assert.deepEqual(firstNode, [...wide, ...shown.nodes.filter((t) => !wide.includes(t))]);
  assert.deepEqual(
    shown.nodes.filter((t) => !wide.includes(t)),
    plan.warnings.filter((w) => w.path.startsWith("nodes[1]")).map(line),
  );
  for (const [part, prefix] of [
    ["link", "link."],
    ["image", "image."],
  ] as const)
    assert.deepEqual(shown[part], plan.warnings.filter((w) => w.path.startsWith(prefix)).map(line), part);
  assert.deepEqual(shown.service, plan.warnings.filter((w) => /^(serving|model)\./.test(w.path)).map(line));

  // Through the cluster: the same lines, as many.
  const viaCluster = warningsDuring(() => new DeepSeekV4Cluster("wc", { config, warnings })).filter(
    (w) => !w.includes("pidsLimit"),
  );
  assert.deepEqual([...viaCluster].sort(), [...byHand].sort());
});

test("a program that builds only part of the cluster from a plan still shows the cluster-wide warnings, once", () => {
  const { config, warnings } = warningConfig();
  const plan = planCluster(config, warnings);
  // About every node or none of the four: hardening (the UMA threshold) and observability images.
  const wide = plan.warnings.filter((w) => /^(hardening|observability)(\.|$)/.test(w.path));
  assert.ok(wide.length >= 2, "the plan has cluster-wide warnings");
  // Hardening only: the Sparks from the plan, no link, image or service.
  const shown = warningsDuring(() => {
    for (const n of plan.nodes)
      new SparkNode(`part-${n.name}`, SparkNode.fromPlan(plan, { node: n.name, privateKey: "k" }));
  });
  for (const w of wide) {
    const t = `warning: [runtime] ${w.path} ${w.message}`;
    assert.equal(shown.filter((x) => x === t).length, 1, t);
  }
  // A component asked not to show the plan's warnings takes none, and leaves them to the next.
  const other = planCluster(config, warnings);
  const quiet = warningsDuring(
    () =>
      new SparkNode("quiet-head", SparkNode.fromPlan(other, { node: "spark-head", privateKey: "k", warnings: false })),
  );
  assert.deepEqual(quiet, []);
  const next = warningsDuring(
    () => new SparkNode("quiet-worker", SparkNode.fromPlan(other, { node: "spark-worker", privateKey: "k" })),
  );
  for (const w of wide) assert.ok(next.includes(`warning: [runtime] ${w.path} ${w.message}`), w.path);
});

test("nodes can be plain access objects and the image a reference: e.g. Sparks hardened and an image built in another stack", async () => {
  const input = baseConfig();
  input.image = { source: "prebuilt", ref: "ghcr.io/example/vllm-gb10:0.24.0" };
  const plan = planCluster(loadClusterConfig(input, "deploy").config);
  const elsewhere = new command.remote.Command("hardened-elsewhere", { connection: { host: "x" }, create: "true" });
  // What another stack exports about each node: no SparkNode in this program.
  const access = plan.nodes.map((n) => ({
    nodeName: n.name,
    connection: { host: n.ssh.host, user: n.ssh.user, privateKey: pulumi.secret("k") },
    dockerHost: elsewhere.stdout.apply(() => `ssh://${n.ssh.user}@${n.ssh.host}:22`),
    dockerSshOpts: ["-o", "BatchMode=yes"],
  }));
  const opts = { transformations: [recordTransformation] };
  const svc = new VllmService(
    "acc-service",
    VllmService.fromPlan(plan, {
      nodes: access,
      image: { imageRef: "ghcr.io/example/vllm-gb10:0.24.0" },
      apiKey: "a",
      hfToken: "h",
    }),
    { ...opts, dependsOn: [elsewhere] },
  );
  const all = await settle();
  for (const n of plan.nodes) {
    const c = all.get(`acc-service-${n.name}`) as Recorded;
    assert.equal(c.inputs.image, "ghcr.io/example/vllm-gb10:0.24.0");
    assert.equal(wireInputsByName.get(`acc-service-${n.name}-docker`)?.host, `ssh://spark@${n.ssh.host}:22`);
    // provider config travels JSON-encoded
    assert.deepEqual(JSON.parse(wireInputsByName.get(`acc-service-${n.name}-docker`)?.sshOpts), [
      "-o",
      "BatchMode=yes",
    ]);
    // head-then-copy (two nodes): the head downloads; the worker's copy runs on the head's connection.
    const head = plan.nodes.find((x) => x.name === plan.cluster.head);
    const weights = all.get(`acc-service-${n.name}-${n.name === head?.name ? "prefetch" : "weights-copy"}`) as Recorded;
    assert.equal(unwrap(weights.inputs.connection).host, head?.ssh.host);
    assert.ok(weights.dependsOn.includes("hardened-elsewhere"), "waits for what opts.dependsOn names");
    if (n.name !== head?.name) assert.ok(weights.dependsOn.includes(`acc-service-${head?.name}-prefetch`));
  }
  assert.equal(await promiseOf(svc.maxModelLen), 1000000);
});
