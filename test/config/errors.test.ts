import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, configNotes, loadClusterConfig } from "../../src/config";
import { baseConfig, twinConfig } from "../support/fixtures";

type Case = [what: string, mutate: (c: Record<string, any>) => void, path: string, message: RegExp];

const CASES: Case[] = [
  ["no nodes", (c) => (c.nodes = []), "nodes", /at least two nodes/],
  ["one node", (c) => c.nodes.pop(), "nodes", /at least two nodes/],
  ["two heads", (c) => (c.nodes[1].role = "head"), "nodes", /2 heads \(spark-head, spark-head\)|2 heads/],
  ["no head", (c) => (c.nodes[0].role = "worker"), "nodes", /no node with role 'head'/],
  ["bad role", (c) => (c.nodes[1].role = "master"), "nodes[1].role", /'head' or 'worker'/],
  ["duplicate name", (c) => (c.nodes[1].name = "spark-head"), "nodes[1].name", /already used by nodes\[0\]/],
  ["bad node name", (c) => (c.nodes[0].name = "Spark Head"), "nodes[0].name", /lowercase/],
  ["missing name", (c) => delete c.nodes[1].name, "nodes[1].name", /is required/],
  [
    "duplicate management host",
    (c) => (c.nodes[1].ssh.host = "192.168.1.11"),
    "nodes[1].ssh.host",
    /already used by nodes\[0\]/,
  ],
  ["ssh port out of range", (c) => (c.nodes[0].ssh.port = 70000), "nodes[0].ssh.port", /at most 65535/],
  ["bad ssh user", (c) => (c.nodes[0].ssh.user = "root; reboot"), "nodes[0].ssh.user", /login name/],
  ["no ssh user anywhere", (c) => delete c.ssh.user, "nodes[0].ssh.user", /is not set/],
  ["key and agent", (c) => (c.nodes[0].ssh.useAgent = true), "nodes[0].ssh.useAgent", /choose the key or the agent/],
  ["bad host key", (c) => (c.nodes[0].ssh.hostKey = "not a key"), "nodes[0].ssh.hostKey", /OpenSSH host key/],
  [
    "injected netdev",
    (c) => (c.nodes[0].dataPlane[0].netdev = "enp1s0f1np1; reboot"),
    "nodes[0].dataPlane[0].netdev",
    /Linux interface name/,
  ],
  ["injected hca", (c) => (c.nodes[1].dataPlane[0].hca = "$(id)"), "nodes[1].dataPlane[0].hca", /RDMA device name/],
  [
    "not an address",
    (c) => (c.nodes[1].dataPlane[0].address = "10.0.0.300"),
    "nodes[1].dataPlane[0].address",
    /not an IPv4 address/,
  ],
  [
    "duplicate data-plane address",
    (c) => (c.nodes[1].dataPlane[0].address = "10.0.0.1"),
    "nodes[1].dataPlane[0].address",
    /already used by nodes\[0\]\.dataPlane\[0\]/,
  ],
  [
    "ends in different subnets",
    (c) => (c.nodes[1].dataPlane[0].address = "10.0.0.6"),
    "nodes[1].dataPlane[0].address",
    /not in the subnet of nodes\[0\]\.dataPlane\[0\]/,
  ],
  [
    "network address",
    (c) => (c.nodes[1].dataPlane[0].address = "10.0.0.3"),
    "nodes[1].dataPlane[0].address",
    /broadcast/,
  ],
  ["prefix mismatch", (c) => (c.nodes[1].dataPlane[0].prefix = 24), "nodes[1].dataPlane[0].prefix", /share one subnet/],
  [
    "three ports",
    (c) =>
      c.nodes[0].dataPlane.push(
        { netdev: "x0", hca: "x0", address: "10.0.2.1" },
        { netdev: "x1", hca: "x1", address: "10.0.3.1" },
      ),
    "nodes[0].dataPlane",
    /at most two ports/,
  ],
  ["unknown key", (c) => (c.serving.profle = "1m"), "serving.profle", /not a known setting/],
  ["unknown profile", (c) => (c.serving.profile = "2m"), "serving.profile", /1m, 512k, 256k/],
  [
    "custom profile without base lacks fields",
    (c) => (c.serving.profile = { maxModelLen: 131072 }),
    "serving.profile.maxNumSeqs",
    /required when serving.profile.base is not set/,
  ],
  ["util zero", (c) => (c.serving.gpuMemoryUtilization = 0), "serving.gpuMemoryUtilization", /above 0/],
  ["util too high", (c) => (c.serving.gpuMemoryUtilization = 0.95), "serving.gpuMemoryUtilization", /below 0.95/],
  [
    "util 0.85 unacknowledged",
    (c) => (c.serving.gpuMemoryUtilization = 0.85),
    "serving.gpuMemoryUtilization",
    /acknowledgeHighUtilization/,
  ],
  [
    "TP x PP != nodes",
    (c) => (c.serving.tensorParallelSize = 4),
    "serving.tensorParallelSize",
    /4 x 1 = 4, but there are 2 nodes/,
  ],
  ["bad launcher", (c) => (c.serving.launcher = "slurm"), "serving.launcher", /'mp' or 'ray'/],
  [
    "managed flag in extraArgs",
    (c) => (c.serving.extraArgs = ["--max-model-len=2000000"]),
    "serving.extraArgs[0]",
    /already sets/,
  ],
  [
    "UCX fix removed through extraEnv",
    (c) => (c.serving.extraEnv = { UCX_RCACHE_MAX_UNRELEASED: "inf" }),
    "serving.extraEnv.UCX_RCACHE_MAX_UNRELEASED",
    /cannot be removed/,
  ],
  [
    "bad env name",
    (c) => (c.serving.extraEnv = { "A B": "1" }),
    'serving.extraEnv["A B"]',
    /environment variable name/,
  ],
  ["newline in extra arg", (c) => (c.serving.extraArgs = ["--x\nreboot"]), "serving.extraArgs[0]", /newlines/],
  [
    "api key and unauthenticated",
    (c) => (c.serving.allowUnauthenticated = true),
    "serving.allowUnauthenticated",
    /remove one of them/,
  ],
  [
    "unpinned vLLM ref",
    (c) => (c.image = { source: "build", vllmRef: "main" }),
    "image.vllmRef",
    /branch, not a pinned commit/,
  ],
  ["two PRs", (c) => (c.image = { source: "build", prs: [41834, 43477] }), "image.prs", /checked out, not merged/],
  ["prebuilt without ref", (c) => (c.image = { source: "prebuilt" }), "image.ref", /is required/],
  ["bad image source", (c) => (c.image = { source: "docker-hub" }), "image.source", /'build'|'prebuilt'/],
  ["relative HF cache", (c) => (c.model.hfCachePath = "~/.cache/huggingface"), "model.hfCachePath", /absolute path/],
  ["injected model id", (c) => (c.model.id = "deepseek-ai/x`reboot`"), "model.id", /Hugging Face id/],
  ["empty secret", (c) => (c.serving.apiKey = ""), "serving.apiKey", /must not be empty/],
  ["MTU too large", (c) => (c.link = { mtu: 65000 }), "link.mtu", /at most 9216/],
  ["bad GID policy", (c) => (c.link = { gidPolicy: "3" }), "link.gidPolicy", /'auto', 'resolve' or \{ index: N \}/],
  [
    "min_free_kbytes too small",
    (c) => (c.hardening = { minFreeKbytes: 1024 }),
    "hardening.minFreeKbytes",
    /at least 65536/,
  ],
  ["webhook not a URL", (c) => (c.hardening = { webhookUrl: "file:///etc/passwd" }), "hardening.webhookUrl", /http/],
];

describe("bad config is rejected with the path and what to do", () => {
  it(`covers at least 25 distinct bad inputs (has ${CASES.length})`, () => assert.ok(CASES.length >= 25));
  for (const [what, mutate, path, message] of CASES) {
    it(what, () => {
      const c = baseConfig();
      mutate(c);
      let err: unknown;
      try {
        loadClusterConfig(c, "deploy");
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, `expected a ConfigError for: ${what}`);
      const hit = err.problems.find((p) => p.path === path);
      assert.ok(hit, `no problem at ${path}; got:\n${err.message}`);
      assert.match(hit.message, message);
      assert.match(err.message, new RegExp(`- ${path.replace(/[[\].()"]/g, "\\$&")}: `));
    });
  }
});

describe("reporting", () => {
  it("reports every problem at once", () => {
    const c = baseConfig();
    c.nodes[0].dataPlane[0].netdev = "bad name!";
    c.nodes[1].ssh.port = 0;
    c.serving.launcher = "slurm";
    c.hardening = { swapOff: "yes" };
    try {
      loadClusterConfig(c);
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems.map((p) => p.path).sort(), [
        "hardening.swapOff",
        "nodes[0].dataPlane[0].netdev",
        "nodes[1].ssh.port",
        "serving.launcher",
      ]);
    }
  });

  it("never echoes a secret value in an error", () => {
    const c = baseConfig();
    c.model.hfToken = 12345678;
    c.serving.apiKey = { not: "a secret" };
    try {
      loadClusterConfig(c);
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems.map((p) => p.path).sort(), ["model.hfToken", "serving.apiKey"]);
      assert.doesNotMatch(e.message, /12345678/);
    }
  });

  it("deploy mode requires the secrets pulumi up needs; plan mode only warns", () => {
    const c = baseConfig();
    delete c.serving.apiKey;
    delete c.ssh.privateKey;
    delete c.model.hfToken;
    assert.throws(
      () => loadClusterConfig(c, "deploy"),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 4,
    );
    const { warnings } = loadClusterConfig(c, "plan");
    assert.deepEqual(warnings.map((w) => w.path).sort(), [
      "model.hfToken",
      "nodes[0].ssh.privateKey",
      "nodes[1].ssh.privateKey",
      "serving.apiKey",
    ]);
  });
});

describe("accepted with a warning", () => {
  const warned = (mutate: (c: Record<string, any>) => void) => {
    const c = twinConfig();
    mutate(c);
    return loadClusterConfig(c).warnings.map((w) => w.path);
  };
  it("util above 0.82", () =>
    assert.ok(warned((c) => (c.serving.gpuMemoryUtilization = 0.83)).includes("serving.gpuMemoryUtilization")));
  it("util 0.88 acknowledged", () =>
    assert.ok(
      warned((c) =>
        Object.assign(c.serving, { gpuMemoryUtilization: 0.88, acknowledgeHighUtilization: true }),
      ).includes("serving.gpuMemoryUtilization"),
    ));
  it("MTU below 9000", () => assert.ok(warned((c) => (c.link = { mtu: 1500 })).includes("link.mtu")));
  it("unpinned with allowUnpinned", () =>
    assert.ok(
      warned((c) => (c.image = { source: "build", vllmRef: "main", allowUnpinned: true })).includes(
        "image.allowUnpinned",
      ),
    ));
  it("no warning at the defaults; the unpinned FlashInfer (no pin in the recipe) is a note", () => {
    assert.deepEqual(
      warned(() => {}),
      [],
    );
    assert.deepEqual(
      configNotes(loadClusterConfig(twinConfig()).config).map((n) => n.path),
      ["image.flashinferRef"],
    );
    const pinned = twinConfig();
    pinned.image = { source: "build", flashinferRef: "v0.6.1" };
    assert.deepEqual(configNotes(loadClusterConfig(pinned).config), []);
  });
});
