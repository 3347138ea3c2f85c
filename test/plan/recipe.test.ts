import { withoutSecretsFile } from "../../src/plan/secrets-file";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planFromInput } from "../../src/plan/cluster";
import { baseConfig, shellWords, twinConfig } from "../support/fixtures";
import { RECIPE_ENV_EVERY_PROFILE, RECIPE_ENV_LONG, RECIPE_FLAGS, RECIPE_TABLE } from "../support/recipe";

/** argv -> { positional: [...], flags: { "--x": "value" | true } } */
function flagMap(argv: readonly string[]) {
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith("--")) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        flags[a] = next;
        i++;
      } else flags[a] = true;
    } else positional.push(a);
  }
  return { positional, flags };
}

function envMap(line: string): Record<string, string> {
  return Object.fromEntries(shellWords(line).map((w) => w.split("=", 2) as [string, string]));
}

const MP_FLAGS = ["--nnodes", "--node-rank", "--master-addr", "--master-port", "--headless"];

for (const row of RECIPE_TABLE) {
  describe(`profile ${row.profile} matches RECIPE.md`, () => {
    const input = baseConfig();
    input.serving.profile = row.profile;
    const plan = planFromInput(input);
    const head = plan.nodes.find((n) => n.role === "head")!;
    const worker = plan.nodes.find((n) => n.role === "worker")!;

    it("serves with exactly the recipe's flags plus the profile's three", () => {
      const expected = flagMap(shellWords(RECIPE_FLAGS));
      expected.flags["--max-model-len"] = row.maxModelLen;
      expected.flags["--max-num-seqs"] = row.maxNumSeqs;
      expected.flags["--max-num-batched-tokens"] = row.maxNumBatchedTokens;
      const got = flagMap(head.serveArgv);
      for (const f of MP_FLAGS) delete got.flags[f];
      assert.deepEqual(got.positional, expected.positional);
      assert.deepEqual(got.flags, expected.flags);
    });

    it("runs the same serve flags on the worker, headless with its rank", () => {
      const h = flagMap(head.serveArgv),
        w = flagMap(worker.serveArgv);
      assert.equal(h.flags["--node-rank"], "0");
      assert.equal(w.flags["--node-rank"], "1");
      assert.equal(w.flags["--headless"], true);
      assert.equal(h.flags["--headless"], undefined);
      for (const f of MP_FLAGS) {
        delete h.flags[f];
        delete w.flags[f];
      }
      assert.deepEqual(w, h);
    });

    it("sets the recipe's environment, with the long-context pair only above 262144", () => {
      for (const n of plan.nodes) {
        for (const [k, v] of Object.entries(envMap(RECIPE_ENV_EVERY_PROFILE)))
          assert.equal(n.env[k], v, `${n.name} ${k}`);
        for (const [k, v] of Object.entries(envMap(RECIPE_ENV_LONG)))
          assert.equal(n.env[k], row.longContext ? v : undefined, `${n.name} ${k}`);
      }
    });
  });
}

describe("link-derived environment (RECIPE.md 'Per-node env')", () => {
  it("derives every variable from the node's own end of the link", () => {
    const plan = planFromInput(baseConfig());
    for (const n of plan.nodes) {
      const p = n.dataPlane[0]!;
      assert.equal(n.env.VLLM_HOST_IP, p.address);
      for (const k of [
        "NCCL_SOCKET_IFNAME",
        "GLOO_SOCKET_IFNAME",
        "TP_SOCKET_IFNAME",
        "OMPI_MCA_btl_tcp_if_include",
        "MN_IF_NAME",
        "UCX_NET_DEVICES",
      ])
        assert.equal(n.env[k], p.netdev, k);
      assert.equal(n.env.NCCL_IB_HCA, p.hca);
      assert.equal(n.env.NCCL_IB_DISABLE, "0");
      assert.equal(n.env.NCCL_IGNORE_CPU_AFFINITY, "1");
      assert.equal(n.env.MASTER_ADDR, "10.0.0.1");
      assert.equal(n.env.MASTER_PORT, "29501");
      assert.equal("NCCL_IB_GID_INDEX" in n.env, false, "auto GID policy leaves NCCL_IB_GID_INDEX unset");
      // mp launcher: no Ray object store in the shared pool, so no Ray variables.
      assert.equal(
        Object.keys(n.env).some((k) => k.startsWith("RAY_")),
        false,
      );
    }
  });

  it("uses both HCAs of the twin ports for NCCL", () => {
    const plan = planFromInput(twinConfig());
    assert.equal(plan.nodes[0]!.env.NCCL_IB_HCA, "rocep1s0f1,roceP2p1s0f1");
    assert.equal(plan.link.twins.length, 2);
    assert.deepEqual(
      plan.link.twins.map((t) => t.subnet),
      ["10.0.0.0/30", "10.0.1.0/30"],
    );
    // a DF ping per twin per direction
    assert.equal(plan.link.checks.length, 4);
    assert.ok(plan.link.checks.every((c) => c.payloadBytes === 8972));
  });

  it("pins NCCL_IB_GID_INDEX only when asked", () => {
    const c = baseConfig();
    c.link = { gidPolicy: { index: 3 } };
    const plan = planFromInput(c);
    assert.ok(plan.nodes.every((n) => n.env.NCCL_IB_GID_INDEX === "3"));
    assert.ok(plan.warnings.some((w) => w.path === "link.gidPolicy"));
  });

  it("resolve policy wraps the process with a resolver and leaves serveArgv pure", () => {
    const c = baseConfig();
    c.link = { gidPolicy: "resolve" };
    const plan = planFromInput(c);
    for (const n of plan.nodes) {
      const command = withoutSecretsFile(n.container.command);
      assert.equal(command[0], "bash");
      assert.match(command[2]!, /^roce_gid_index\(\) \{$/m, "src/host/gid.sh is inlined");
      assert.match(
        command[2]!,
        /if ! idx=\$\(roce_gid_index rocep1s0f1 0000:0000:0000:0000:0000:ffff:[0-9a-f]{4}:[0-9a-f]{4}\); then/,
      );
      assert.deepEqual(command.slice(4), n.serveArgv);
      assert.equal(n.serveArgv[0], "vllm");
    }
  });
});

describe("the UCX leak fix", () => {
  for (const profile of ["1m", "512k", "256k"])
    for (const launcher of ["mp", "ray"])
      it(`is on every node with ${profile} / ${launcher}`, () => {
        const c = twinConfig();
        c.serving.profile = profile;
        c.serving.launcher = launcher;
        const plan = planFromInput(c);
        for (const n of plan.nodes) {
          assert.equal(n.env.UCX_MEM_MMAP_HOOK_MODE, "none");
          assert.equal(n.env.UCX_RCACHE_MAX_UNRELEASED, "1024");
          assert.equal(n.container.env.UCX_MEM_MMAP_HOOK_MODE, "none");
          assert.match(n.dockerRun, /-e UCX_RCACHE_MAX_UNRELEASED=1024/);
        }
      });
});

describe("Ray launcher (RECIPE.md 'Two launchers')", () => {
  const c = baseConfig();
  c.serving.launcher = "ray";
  const plan = planFromInput(c);
  const head = plan.nodes[0]!,
    worker = plan.nodes[1]!;
  it("starts the Ray head with the recipe's flags, then vllm serve on the head", () => {
    assert.deepEqual(head.rayStartArgv, [
      "ray",
      "start",
      "--head",
      "--port",
      "29501",
      "--object-store-memory",
      "1073741824",
      "--num-cpus",
      "2",
      "--node-ip-address",
      "10.0.0.1",
      "--disable-usage-stats",
      "--include-dashboard=false",
    ]);
    assert.equal(withoutSecretsFile(head.container.command)[0], "bash");
    assert.match(
      withoutSecretsFile(head.container.command)[2]!,
      /^ray start --head .* && exec vllm serve deepseek-ai\/DeepSeek-V4-Flash /,
    );
    assert.equal(flagMap(head.serveArgv).flags["--distributed-executor-backend"], "ray");
    assert.equal(flagMap(head.serveArgv).flags["--nnodes"], undefined);
  });
  it("joins the worker to the head and keeps it in the foreground", () => {
    assert.deepEqual(worker.serveArgv.slice(0, 3), ["ray", "start", "--address=10.0.0.1:29501"]);
    assert.ok(worker.serveArgv.includes("--block"));
    assert.equal(worker.env.RAY_NODE_IP_ADDRESS, "10.0.0.2");
    assert.equal(worker.env.RAY_OVERRIDE_NODE_IP_ADDRESS, "10.0.0.2");
    assert.equal(worker.env.RAY_object_store_memory, "1073741824");
    assert.equal(worker.env.RAY_memory_monitor_refresh_ms, "0");
    assert.equal(worker.env.RAY_num_prestart_python_workers, "0");
  });
  it("starts workers first and the head last", () => {
    assert.deepEqual(plan.cluster.startOrder, ["spark-worker", "spark-head"]);
  });
});

describe("container (RECIPE.md 'Launch')", () => {
  it("privileged by default, with host network and IPC, all GPUs, an init and the four caches", () => {
    const plan = planFromInput(baseConfig());
    const ct = plan.nodes[0]!.container;
    assert.equal(ct.privileged, true);
    assert.equal(ct.network, "host");
    assert.equal(ct.ipc, "host");
    assert.equal(ct.gpus, "all");
    assert.equal(ct.init, true);
    assert.equal(ct.restart, "no");
    assert.deepEqual(ct.entrypoint, []);
    assert.deepEqual(
      ct.volumes.map((v) => v.containerPath),
      [
        "/root/.cache/huggingface",
        "/root/.cache/vllm",
        "/root/.cache/flashinfer",
        "/root/.triton",
        "/run/dgx-spark-vllm",
      ],
    );
    assert.deepEqual(
      ct.volumes.map((v) => v.readOnly ?? false),
      [false, false, false, false, true],
      "the secrets folder is mounted read-only",
    );
    assert.equal(ct.volumes[4]!.hostPath, `/var/lib/dgx-spark-vllm/secrets/${ct.name}`);
    assert.equal(ct.volumes[0]!.hostPath, "/home/spark/.cache/huggingface");
    assert.deepEqual(ct.secretEnv, ["HF_TOKEN", "VLLM_API_KEY"]);
    assert.deepEqual(plan.nodes[1]!.container.secretEnv, ["HF_TOKEN"], "only the head serves the API");
  });
  it("non-privileged: IPC_LOCK, /dev/infiniband, 64g shm and a pids limit", () => {
    const c = baseConfig();
    c.serving.privileged = false;
    c.serving.nonPrivileged = { memoryLimit: "118g" };
    const ct = planFromInput(c).nodes[0]!.container;
    assert.equal(ct.privileged, false);
    assert.deepEqual(ct.capAdd, ["IPC_LOCK"]);
    assert.deepEqual(ct.devices, ["/dev/infiniband"]);
    assert.equal(ct.shmSize, "64g");
    assert.equal(ct.memoryLimit, "118g");
    assert.equal(ct.pidsLimit, 16384);
  });
});
