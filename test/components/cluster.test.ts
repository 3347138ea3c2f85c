/**
 * The whole cluster under mocks, for each of the three stacks: resource graph, order, container
 * inputs against the plan, secrets, determinism, delete commands.
 */
import {
  recordTransformation,
  settle,
  unwrap,
  strings,
  isSecret,
  promiseOf,
  REPO_ROOT,
  wireInputsByName,
  type Recorded,
} from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { DeepSeekV4Cluster } from "../../src/components/cluster";
import { loadClusterConfig, readStackFile } from "../../src/config/load";
import { umaMonitorStep } from "../../src/plan/monitor";

const HF = "hf_SECRET_token_value_123";
const API = "sk-SECRET-api-key-456-b8e2c4a6f0d1937";
// A throwaway fake key, assembled at run time so no key-shaped text is committed.
const PEM = ["OPENSSH", "PRIVATE", "KEY"].join(" ");
const KEY = `-----BEGIN ${PEM}-----\nSECRETKEYBODY789\n-----END ${PEM}-----`;

function stackInput(stack: string): Record<string, any> {
  const input = readStackFile(path.join(REPO_ROOT, "stacks", `Pulumi.${stack}.yaml`)) as Record<string, any>;
  input.model = { ...(input.model ?? {}), hfToken: HF };
  input.serving = { ...(input.serving ?? {}), apiKey: API };
  input.ssh = { ...(input.ssh ?? {}), privateKey: KEY };
  return input;
}

const STACKS = ["1m", "512k", "256k"] as const;
const clusters: Record<string, DeepSeekV4Cluster> = {};
for (const s of STACKS) {
  const { config, warnings } = loadClusterConfig(stackInput(s), "deploy");
  clusters[s] = new DeepSeekV4Cluster(`c${s}`, { config, warnings }, { transformations: [recordTransformation] });
}
// Evaluated a second time from scratch: must give identical inputs.
const again = new DeepSeekV4Cluster(
  "again1m",
  { config: loadClusterConfig(stackInput("1m"), "deploy").config },
  { transformations: [recordTransformation] },
);

const ready = settle();

function under(all: Map<string, Recorded>, prefix: string): Recorded[] {
  return [...all.values()].filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`));
}

/** Transitive dependencies: dependsOn, plus the parent's dependsOn (children of a component wait for it). */
function closure(all: Map<string, Recorded>, name: string, seen = new Set<string>()): Set<string> {
  const r = all.get(name);
  if (!r) return seen;
  for (const d of r.dependsOn) {
    if (seen.has(d)) continue;
    seen.add(d);
    closure(all, d, seen);
  }
  return seen;
}

const HOST_STEPS = ["caches", "min-free-kbytes", "swap-off", "uma-monitor"];
/** The weights step per node (model.delivery defaults to head-then-copy for two nodes): the worker's copy runs on the head. */
const WEIGHTS: Record<string, string> = { "spark-head": "prefetch", "spark-worker": "weights-copy" };
const PREFLIGHT = ["gpu", "arch", "docker", "netdev", "kernel", "disk"];

function expectedGraph(N: string): [string, string, string | undefined][] {
  const out: [string, string, string | undefined][] = [];
  const cmd = "command:remote:Command";
  for (const n of ["spark-head", "spark-worker"]) {
    const S = `${N}-${n}`;
    out.push([S, "dgx-spark-vllm:index:SparkNode", N]);
    out.push([`${S}-reachable`, cmd, S]);
    // docker providers belong to the components that create docker resources, not to SparkNode
    out.push([`${N}-service-${n}-docker`, "pulumi:providers:docker", `${N}-service`]);
    PREFLIGHT.forEach((c) => out.push([`${S}-preflight-${c}`, cmd, S]));
    HOST_STEPS.forEach((c) => out.push([`${S}-${c}`, cmd, S]));
    out.push(
      [`${N}-link-${n}-link-address`, cmd, `${N}-link`],
      [`${N}-link-${n}-gid-check`, cmd, `${N}-link`],
      [`${N}-link-${n}-link-boot`, cmd, `${N}-link`],
    );
    out.push([`${N}-image-${n}-image-journal`, cmd, `${N}-image`], [`${N}-image-${n}-image-id`, cmd, `${N}-image`]);
    out.push(
      [`${N}-service-${n}-${WEIGHTS[n]}`, cmd, `${N}-service`],
      [`${N}-service-${n}-secrets-file`, cmd, `${N}-service`],
      [`${N}-service-${n}-drop-caches`, cmd, `${N}-service`],
      [`${N}-service-${n}-drop-caches-stop`, cmd, `${N}-service`],
    );
    out.push([`${N}-service-${n}`, "docker:index/container:Container", `${N}-service`]);
  }
  out.push([N, "dgx-spark-vllm:index:DeepSeekV4Cluster", undefined]);
  out.push(
    [`${N}-link`, "dgx-spark-vllm:index:RoceLink", N],
    [`${N}-image`, "dgx-spark-vllm:index:VllmImage", N],
    [`${N}-service`, "dgx-spark-vllm:index:VllmService", N],
  );
  out.push(
    [`${N}-link-ping-spark-head-spark-worker-t0`, cmd, `${N}-link`],
    [`${N}-link-ping-spark-worker-spark-head-t0`, cmd, `${N}-link`],
  );
  out.push(
    [`${N}-image-build`, "docker:index/image:Image", `${N}-image`],
    [`${N}-image-spark-head-docker`, "pulumi:providers:docker", `${N}-image`],
    [`${N}-image-spark-worker-transfer`, cmd, `${N}-image`],
  );
  out.push([`${N}-service-readiness`, cmd, `${N}-service`]);
  out.push([`${N}-service-watchdog`, cmd, `${N}-service`]); // issue #7: the coordinated watchdog on the head
  // issue #13: the update holds the watchdog (bounded) before any container, and releases it once ready
  out.push([`${N}-service-watchdog-hold`, cmd, `${N}-service`], [`${N}-service-watchdog-unhold`, cmd, `${N}-service`]);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

for (const s of STACKS) {
  const N = `c${s}`;

  test(`${s}: the resource graph has exactly the expected resources, types and parents`, async () => {
    const all = await ready;
    const got = under(all, N)
      .map((r) => [r.name, r.type, r.parent] as [string, string, string | undefined])
      .sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(got, expectedGraph(N));
  });

  test(`${s}: order reachable -> preflight -> hardening -> link -> image -> worker -> head -> readiness -> sidecar removal`, async () => {
    const all = await ready;
    const dep = (a: string, b: string) =>
      assert.ok(closure(all, `${N}-${a}`).has(`${N}-${b}`), `${N}-${a} does not wait for ${N}-${b}`);
    for (const n of ["spark-head", "spark-worker"]) {
      PREFLIGHT.forEach((c) => dep(`${n}-preflight-${c}`, `${n}-reachable`));
      HOST_STEPS.forEach((h) => PREFLIGHT.forEach((c) => dep(`${n}-${h}`, `${n}-preflight-${c}`)));
      HOST_STEPS.forEach((h) => dep(`link-${n}-link-address`, `${n}-${h}`));
      dep(`link-${n}-gid-check`, `link-${n}-link-address`);
      dep(`link-${n}-link-boot`, `link-${n}-gid-check`);
      dep(`image-${n}-image-journal`, "link-ping-spark-head-spark-worker-t0");
      dep(`image-${n}-image-journal`, "link-ping-spark-worker-spark-head-t0");
      dep(`image-${n}-image-id`, "image-build");
      dep(`service-${n}-${WEIGHTS[n]}`, `image-${n}-image-id`);
      dep(`service-${n}-drop-caches`, `service-${n}-${WEIGHTS[n]}`);
      dep(`service-${n}`, `service-${n}-drop-caches`);
      dep(`service-${n}`, `service-${n}-secrets-file`);
      dep(`service-${n}-drop-caches-stop`, "service-readiness");
    }
    ["spark-head", "spark-worker"].forEach((n) => dep("link-ping-spark-head-spark-worker-t0", `link-${n}-gid-check`));
    ["spark-head", "spark-worker"].forEach((n) => dep("link-ping-spark-head-spark-worker-t0", `link-${n}-link-boot`));
    dep("image-build", "image-spark-head-image-journal");
    dep("image-spark-worker-transfer", "image-build");
    dep("image-spark-worker-transfer", "image-spark-worker-image-journal");
    dep("service-spark-head", "service-spark-worker");
    dep("service-readiness", "service-spark-head");
    // The watchdog is held before any container is touched, after the loads' preparations (so the
    // bound covers only the replacement and the readiness wait), and released after readiness.
    for (const n of ["spark-head", "spark-worker"]) {
      dep(`service-${n}`, "service-watchdog-hold");
      dep("service-watchdog-hold", `service-${n}-drop-caches`);
      assert.ok(
        !closure(all, `${N}-service-watchdog-hold`).has(`${N}-service-${n}`),
        "the hold waits for no container",
      );
    }
    dep("service-watchdog-unhold", "service-readiness");
    dep("service-watchdog-unhold", "service-watchdog");
    const hold = all.get(`${N}-service-watchdog-hold`) as Recorded;
    const unhold = all.get(`${N}-service-watchdog-unhold`) as Recorded;
    // Both re-run exactly when a container may be replaced: the same triggers, container specs among them.
    assert.deepEqual(unwrap(hold.inputs.triggers), unwrap(unhold.inputs.triggers));
    const plan = (clusters[s] as DeepSeekV4Cluster).plan;
    assert.equal(
      unwrap(hold.inputs.triggers)[0],
      JSON.stringify(plan.cluster.startOrder.map((x) => plan.nodes.find((y) => y.name === x)?.container)),
    );
    const digest = strings(hold.inputs.triggers).find((x) => /^[0-9a-f]{64}$/.test(x.s));
    assert.ok(digest?.secret, "the secrets' digest is a secret trigger");
    for (const x of strings(hold.inputs.triggers)) assert.ok(!x.s.includes(HF) && !x.s.includes(API));
    assert.match(hold.inputs.create, new RegExp(`${plan.watchdog.bin} hold ${1800 + 600} `));
    assert.match(hold.inputs.delete, new RegExp(`${plan.watchdog.bin} unhold`));
    // and not the other way round: the worker rank does not wait for the head
    assert.ok(!closure(all, `${N}-service-spark-worker`).has(`${N}-service-spark-head`));
    // the image build uses a provider for the head, each container one for its own node
    assert.equal(all.get(`${N}-image-build`)?.provider, `${N}-image-spark-head-docker`);
    assert.equal(all.get(`${N}-service-spark-worker`)?.provider, `${N}-service-spark-worker-docker`);
    assert.match(String(all.get(`${N}-service-spark-worker-docker`)?.inputs.host), /^ssh:\/\/.*@.*:22$/);
    dep("image-spark-head-docker", "spark-head-reachable");
  });

  test(`${s}: every container's inputs equal the plan's container spec`, async () => {
    const all = await ready;
    const plan = (clusters[s] as DeepSeekV4Cluster).plan;
    for (const n of plan.nodes) {
      const r = all.get(`${N}-service-${n.name}`) as Recorded;
      const c = n.container;
      const i = r.inputs;
      assert.equal(i.name, c.name);
      assert.equal(i.image, plan.image.tag);
      // The argv's first word is the entrypoint (clearing the image's), the rest the command.
      assert.deepEqual([...i.entrypoints, ...i.command], [...c.command]);
      assert.deepEqual(i.entrypoints, c.command.slice(0, 1));
      assert.equal(i.networkMode, "host");
      assert.equal(i.ipcMode, "host");
      assert.equal(i.privileged, c.privileged);
      assert.equal(i.gpus, "all");
      assert.equal(i.init, true);
      assert.equal(i.restart, "no");
      assert.deepEqual(
        i.volumes,
        c.volumes.map((v) => ({
          hostPath: v.hostPath,
          containerPath: v.containerPath,
          ...(v.readOnly ? { readOnly: true } : {}),
        })),
      );
      assert.deepEqual(
        i.ulimits,
        c.ulimits.map((u) => ({ ...u })),
      );
      // The plan's labels, and the id of the step that wrote this node's secrets file (a new secret, a new container).
      const secretsStep = all.get(`${N}-service-${n.name}-secrets-file`) as Recorded;
      assert.ok(secretsStep, `${n.name}: a secrets-file step`);
      // And the ranks' one generation (every rank is replaced when any changes).
      const labels = unwrap(i.labels) as { label: string; value: string }[];
      const generation = labels.find((l) => l.label === "dgx-spark-vllm.generation")?.value;
      assert.match(String(generation), /^[0-9a-f]{16}$/);
      assert.deepEqual(labels, [
        ...Object.entries(c.labels).map(([label, value]) => ({ label, value })),
        { label: "dgx-spark-vllm.secrets", value: `${N}-service-${n.name}-secrets-file-id` },
        { label: "dgx-spark-vllm.generation", value: generation },
      ]);
      for (const o of plan.nodes) {
        const other = unwrap((all.get(`${N}-service-${o.name}`) as Recorded).inputs.labels) as typeof labels;
        assert.equal(other.find((l) => l.label === "dgx-spark-vllm.generation")?.value, generation, "one generation");
      }
      assert.ok(r.dependsOn.includes(secretsStep.name), `${n.name}: the container waits for its secrets file`);
      // No secret value anywhere in the container's inputs, plain or secret-wrapped: docker would
      // store it in the container config (`docker inspect`). The env list is plain variables only.
      for (const { s: str, path: p } of strings(wireInputsByName.get(r.name) ?? i))
        for (const secret of [HF, API]) assert.ok(!str.includes(secret), `a secret value in ${r.name}.${p}`);
      const wire = wireInputsByName.get(r.name) as Record<string, any>;
      for (const k of ["envs", "command", "labels", "entrypoints", "volumes"])
        assert.ok(strings(wire[k]).every((x) => !x.secret) && !isSecret(wire[k]), `${k} must be plain`);
      assert.deepEqual(
        unwrap(i.envs),
        Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
      );
      assert.deepEqual(c.secretEnv, n.role === "head" ? ["HF_TOKEN", "VLLM_API_KEY"] : ["HF_TOKEN"]);
      // The values instead: the secrets step's stdin, one line per name, as a secret; the
      // container mounts that folder read-only and its command exports the file, then execs the serve argv.
      assert.ok(isSecret(secretsStep.inputs.stdin), "stdin is a secret");
      const secrets: Record<string, string> = { HF_TOKEN: HF, VLLM_API_KEY: API };
      assert.equal(unwrap(secretsStep.inputs.stdin), c.secretEnv.map((k) => `${secrets[k]}\n`).join(""));
      assert.equal(secretsStep.inputs.logging, "none");
      for (const k of ["create", "delete"])
        for (const secret of [HF, API]) assert.ok(!String(secretsStep.inputs[k]).includes(secret), k);
      const f = c.secretsFile;
      assert.ok(f, "a secrets file in the spec");
      assert.ok(
        i.volumes.some((v: any) => v.hostPath === f.hostDir && v.containerPath === f.containerDir && v.readOnly),
      );
      assert.ok(f.hostDir.endsWith(`/${c.name}`), "the folder is namespaced by the container name");
      const argv = [...i.entrypoints, ...i.command];
      assert.deepEqual(argv.slice(0, 2), ["bash", "-c"]);
      assert.ok(String(argv[2]).includes(`. ${f.containerDir}/${f.fileName}`));
      assert.deepEqual(argv.slice(4), [...n.serveArgv], "the serve argv, exactly, after the wrapper");
      // the plan's profile reaches the argv
      assert.ok(i.command.includes(String(plan.profile.maxModelLen)));
      for (const secret of [HF, API]) assert.ok(!i.command.join(" ").includes(secret));
    }
  });

  test(`${s}: the HF token, API key and SSH key appear only as secrets (stdin, connection, envs), never in a command or environment`, async () => {
    const all = await ready;
    const found: Record<string, string[]> = { HF: [], API: [], KEY: [] };
    for (const r of under(all, N)) {
      // On the wire: each secret must be marked where it sits (a list is no longer secret as a whole).
      for (const { s: str, secret, path: p } of strings(wireInputsByName.get(r.name) ?? r.inputs)) {
        for (const [label, value] of [
          ["HF", HF],
          ["API", API],
          ["KEY", "SECRETKEYBODY789"],
        ] as const) {
          if (!str.includes(value)) continue;
          found[label]?.push(`${r.name}.${p}`);
          assert.ok(secret, `${label} appears in clear in ${r.name}.${p}`);
          assert.ok(!/^(create|delete|update|environment)/.test(p), `${label} appears in ${r.name}.${p}`);
        }
      }
    }
    // and they do reach where they are needed
    assert.ok(
      found.HF?.includes(`${N}-service-spark-head-prefetch.stdin`) &&
        found.HF.includes(`${N}-service-spark-worker-weights-copy.stdin`),
      String(found.HF),
    );
    assert.ok(found.API?.includes(`${N}-service-readiness.stdin`), String(found.API));
    // each rank's secrets file gets its values on stdin (the API key only on the head)
    for (const node of ["spark-head", "spark-worker"]) {
      assert.ok(found.HF?.includes(`${N}-service-${node}-secrets-file.stdin`), String(found.HF));
      assert.equal(found.API?.includes(`${N}-service-${node}-secrets-file.stdin`), node === "spark-head");
    }
    assert.ok(found.KEY?.includes(`${N}-spark-head-reachable.connection.privateKey`), String(found.KEY));
    for (const r of under(all, N))
      if (r.inputs.stdin !== undefined) {
        assert.ok(isSecret(r.inputs.stdin), `${r.name}: stdin must be a secret`);
        // The readiness gate logs its lines; a download logs its progress (stderr only, never the token); the rest nothing.
        assert.equal(
          r.inputs.logging,
          r.name.endsWith("readiness")
            ? "stdoutAndStderr"
            : /(prefetch|weights-copy)$/.test(r.name)
              ? "stderr"
              : "none",
        );
      }
    for (const r of under(all, N))
      assert.equal(r.inputs.environment, undefined, `${r.name} uses environment (sent as SSH Setenv)`);
  });

  test(`${s}: every host change renders the plan's create and delete; every changing command has a delete`, async () => {
    const all = await ready;
    const plan = (clusters[s] as DeepSeekV4Cluster).plan;
    for (const n of plan.nodes) {
      const steps = [...n.hostSteps, umaMonitorStep(n.name, plan.hardening.umaAlertThresholdGb, undefined, plan.names)];
      for (const st of steps) {
        const r = all.get(`${N}-${n.name}-${st.id}`) as Recorded;
        assert.equal(r.inputs.create, st.create, `${n.name} ${st.id}`);
        assert.equal(r.inputs.delete, st.delete, `${n.name} ${st.id}`);
      }
      for (const st of n.linkSteps) {
        const r = all.get(`${N}-link-${n.name}-${st.id}`) as Recorded;
        assert.equal(r.inputs.create, st.create);
        assert.equal(r.inputs.delete, st.delete);
      }
    }
    // Commands without a delete of their own: read-only checks; the readiness gate (its exit
    // trap removes what it started); the sidecar's stop and the watchdog's unhold (each ends
    // something another command started, whose delete ends it too); the image transfer, whose
    // undo is the target's image-journal step: it records what the tag named before, runs
    // first, and its delete puts that back (checked below).
    const noDelete =
      /-(reachable|preflight-[a-z]+|ping-.*|image-id|transfer|readiness|drop-caches-stop|watchdog-unhold)$/;
    for (const r of under(all, N)) {
      if (r.type !== "command:remote:Command" || noDelete.test(r.name)) continue;
      assert.ok(
        typeof r.inputs.delete === "string" && r.inputs.delete.length > 0,
        `${r.name} changes a host but has no delete`,
      );
    }
    for (const r of under(all, N).filter((x) => /-transfer$/.test(x.name))) {
      const target = /-image-(spark-[a-z]+)-transfer$/.exec(r.name)?.[1] as string;
      const journal = all.get(`${N}-image-${target}-image-journal`) as Recorded;
      assert.ok(r.dependsOn.includes(journal.name), `${r.name} runs after ${journal.name}`);
      assert.match(journal.inputs.delete, /docker tag "\$prev"/, "the journal's delete re-tags the previous image");
    }
  });
}

test("evaluating twice yields identical inputs", async () => {
  const all = await ready;
  const a = under(all, "c1m");
  const b = under(all, "again1m");
  assert.equal(a.length, b.length);
  for (const r of a) {
    const other = all.get(r.name.replace(/^c1m/, "again1m")) as Recorded;
    assert.ok(other, r.name);
    // Resource IDs come from the engine (the mocks derive them from the name): normalise those.
    // The instance name (the component's name) is in host-side names too.
    // The ranks' generation label hashes those names too: one value per evaluation, compared apart.
    const norm = (v: unknown) =>
      JSON.parse(
        JSON.stringify(unwrap(v))
          .replace(/again1m/g, "c1m")
          .replace(/("label":"dgx-spark-vllm\.generation","value":")[0-9a-f]{16}"/g, '$1<generation>"'),
      );
    assert.deepEqual(norm(other.inputs), norm(r.inputs), r.name);
  }
  assert.equal(await promiseOf(again.endpoint), await promiseOf((clusters["1m"] as DeepSeekV4Cluster).endpoint));
});

test("outputs: endpoint, served model name, max_model_len per stack; image ID and link env", async () => {
  await ready;
  const lens: Record<string, number> = { "1m": 1000000, "512k": 524288, "256k": 262144 };
  for (const s of STACKS) {
    const c = clusters[s] as DeepSeekV4Cluster;
    assert.equal(await promiseOf(c.endpoint), "http://spark-head.local:8000/v1");
    assert.equal(await promiseOf(c.servedModelName), "deepseek-v4");
    assert.equal(await promiseOf(c.maxModelLen), lens[s]);
    assert.equal(await promiseOf(c.imageId), "sha256:1111");
    const env = await promiseOf(c.link.nodeEnv);
    assert.equal(env["spark-worker"]?.NCCL_IB_HCA, "rocep1s0f1");
    assert.equal(env["spark-worker"]?.VLLM_HOST_IP, "10.0.0.2");
    assert.equal(env["spark-head"]?.NCCL_IB_GID_INDEX, undefined);
  }
});
