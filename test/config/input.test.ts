/** Bad input the review found: parse errors that never echo the file, empty config, keys without namespace, every problem at once. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clusterInputFromStackConfig,
  clusterInputFromStackDocument,
  ConfigError,
  loadClusterConfig,
} from "../../src/config";
import { parseConfigText } from "../../src/config/source";
import { closest, editDistance } from "../../src/config/suggest";
import { baseConfig } from "../support/fixtures";

/** A token-shaped fake, assembled at run time so no token-shaped text is committed. */
const FAKE = ["hf", "_", "Q".repeat(6), "z".repeat(6), "7".repeat(6), "K".repeat(6)].join("");

function problemsOf(f: () => unknown): { path: string; message: string }[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${(e as Error).stack}`);
    return [...e.problems];
  }
  assert.fail("no ConfigError");
}

describe("parse errors name file, line and column, never the text", () => {
  const cases: [string, string, "yaml" | "json", RegExp][] = [
    [
      "YAML: bad indent",
      `config:\n  dgx-spark-vllm:hfToken: ${FAKE}\n  x: [a, b\n  y: 1\n`,
      "yaml",
      /line 4, column 3: not valid YAML \(bad indent\)/,
    ],
    [
      "YAML: unterminated quote",
      `config:\n  dgx-spark-vllm:hfToken: "${FAKE}\n`,
      "yaml",
      /line \d+, column \d+: not valid YAML \(missing char\)/,
    ],
    ["YAML: token as implicit key", `a: 1\nb: ${FAKE}: x\n`, "yaml", /line 2, column \d+: not valid YAML/],
    [
      "JSON: value not quoted",
      `{"serving": {"apiKey": ${FAKE}}}`,
      "json",
      /line 1, column 24: not valid JSON \(unexpected character\)/,
    ],
    [
      "JSON: missing comma",
      `{\n  "apiKey": "${FAKE}"\n  "x": 1\n}`,
      "json",
      /line 3, column 3: not valid JSON \(expected ',' or '}'\)/,
    ],
    [
      "JSON: trailing comma",
      `{"apiKey": "${FAKE}",}`,
      "json",
      /not valid JSON \(expected a double-quoted property name\)/,
    ],
  ];
  for (const [what, text, format, expected] of cases) {
    it(what, () => {
      const [p, ...rest] = problemsOf(() => parseConfigText(text, "/tmp/Pulumi.x.yaml", format));
      assert.equal(rest.length, 0);
      assert.equal(p?.path, "/tmp/Pulumi.x.yaml");
      assert.match(p?.message ?? "", expected);
      const all = JSON.stringify(p) + new ConfigError([p!]).message;
      assert.ok(!all.includes(FAKE.slice(3, 12)), `the error shows the file's text: ${all}`);
    });
  }

  it("YAML whose aliases cannot be resolved is a ConfigError", () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
    const [p] = problemsOf(() => parseConfigText(bomb, "f.yaml", "yaml"));
    assert.match(p?.message ?? "", /not valid YAML/);
  });

  it("valid JSON and YAML parse", () => {
    assert.deepEqual(parseConfigText('{"a": [1, "x", true, null, -2.5e3]}', "f.json", "json"), {
      a: [1, "x", true, null, -2500],
    });
    assert.deepEqual(parseConfigText("a:\n  - 1\n", "f.yaml", "yaml"), { a: [1] });
  });
});

describe("stack files", () => {
  it("an empty `config:` is a ConfigError with a sentence, not a crash", () => {
    for (const config of [null, undefined, {}]) {
      const [p] = problemsOf(() => clusterInputFromStackDocument({ config }, "Pulumi.x.yaml"));
      assert.equal(p?.path, "Pulumi.x.yaml: config");
      assert.match(p?.message ?? "", /^is empty: a stack file needs at least dgx-spark-vllm:nodes/);
    }
    const [p] = problemsOf(() => clusterInputFromStackDocument({ config: ["a"] }, "Pulumi.x.yaml"));
    assert.match(p?.message ?? "", /must be a map/);
  });

  it("a key without the namespace is refused, naming the key (as Pulumi does)", () => {
    const ps = problemsOf(() =>
      clusterInputFromStackConfig({ serving: { profile: "256k" }, "dgx-spark-vllm:nodes": [], foo: 1 }),
    );
    assert.deepEqual(
      ps.map((p) => p.path),
      ["serving", "foo"],
    );
    assert.match(ps[0]!.message, /has no namespace.*write dgx-spark-vllm:serving/);
    assert.match(ps[1]!.message, /has no namespace/);
    // Other namespaces are other providers' settings.
    assert.deepEqual(clusterInputFromStackConfig({ "aws:region": "x", "dgx-spark-vllm:link": { mtu: 9000 } }), {
      link: { mtu: 9000 },
    });
  });

  it("an unknown namespaced key gets a did-you-mean", () => {
    const [p] = problemsOf(() => clusterInputFromStackConfig({ "dgx-spark-vllm:srving": {} }));
    assert.equal(p?.path, "dgx-spark-vllm:srving");
    assert.match(p?.message ?? "", /did you mean 'dgx-spark-vllm:serving'\?/);
  });
});

describe("did you mean", () => {
  it("unknown config keys name the closest known key at their place", () => {
    const c = baseConfig();
    c.serving.profle = "1m";
    c.nodes[1].ssh.hots = "x";
    c.serving.watchdog = { probeIntervalSecond: 10 };
    c.image = { source: "build", vllmReff: "28fef2c70" };
    c.hardening = { completelyUnrelated: 1 };
    const ps = problemsOf(() => loadClusterConfig(c));
    const msg = (path: string) => ps.find((p) => p.path === path)?.message ?? `(no problem at ${path})`;
    assert.match(msg("serving.profle"), /is not a known setting \(did you mean 'profile'\?\)/);
    assert.match(msg("nodes[1].ssh.hots"), /did you mean 'host'\?/);
    assert.match(msg("serving.watchdog.probeIntervalSecond"), /did you mean 'probeIntervalSeconds'\?/);
    assert.match(msg("image.vllmReff"), /did you mean 'vllmRef'\?/);
    assert.match(msg("hardening.completelyUnrelated"), /is not a known setting \(check the spelling/);
  });

  it("edit distance counts a swap of neighbours as one edit", () => {
    assert.equal(editDistance("plna", "plan"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(closest("plna", ["plan", "gate"]), "plan");
    assert.equal(closest("xyz", ["plan", "gate"]), undefined);
  });
});

describe("every problem at once: shape and cross-field together", () => {
  it("a shape error elsewhere does not hide the cross-field rules", () => {
    const c = baseConfig();
    c.hardening = { umaAlertThresholdGb: "lots" }; // shape
    c.nodes[1].name = "spark-head"; // cross-field: duplicate name
    c.serving.tensorParallelSize = 3; // cross-field: TP x PP != nodes
    const ps = problemsOf(() => loadClusterConfig(c));
    const paths = ps.map((p) => p.path);
    assert.ok(paths.includes("hardening.umaAlertThresholdGb"), paths.join(", "));
    assert.ok(paths.includes("nodes[1].name"), paths.join(", "));
    assert.ok(paths.includes("serving.tensorParallelSize"), paths.join(", "));
  });

  it("a malformed node keeps the other nodes' rules, with their own indices", () => {
    const c = baseConfig();
    c.nodes.push({ ...structuredClone(c.nodes[1]), name: "spark-worker" }); // nodes[2]: duplicate name
    c.nodes[2].ssh.host = "192.168.1.13";
    c.nodes[2].dataPlane[0].address = "10.0.0.2"; // duplicate address of nodes[1]
    c.nodes[1].ssh.port = "22"; // shape (a type error, which stops zod before its refinements): nodes[1] is malformed
    c.nodes[0].name = "spark-worker"; // now nodes[0] and nodes[2] share a name
    c.serving.tensorParallelSize = 2; // 2 x 1 != 3 nodes
    const ps = problemsOf(() => loadClusterConfig(c));
    const paths = ps.map((p) => p.path);
    assert.deepEqual(paths.sort(), ["nodes[1].ssh.port", "nodes[2].name", "serving.tensorParallelSize"].sort());
    assert.match(ps.find((p) => p.path === "nodes[2].name")!.message, /already used by nodes\[0\]/);
  });

  it("deploy mode: the missing secrets come in the same run as a shape error", () => {
    const c = baseConfig();
    delete c.serving.apiKey;
    delete c.model.hfToken;
    c.link = { mtu: "jumbo" };
    const paths = problemsOf(() => loadClusterConfig(c, "deploy")).map((p) => p.path);
    assert.deepEqual(paths.sort(), ["link.mtu", "model.hfToken", "serving.apiKey"]);
    const planMode = problemsOf(() => loadClusterConfig(c, "plan")).map((p) => p.path);
    assert.deepEqual(planMode, ["link.mtu"]);
  });

  it("each problem is reported once", () => {
    const c = baseConfig();
    c.nodes[1].name = "spark-head";
    c.link = { mtu: "jumbo" };
    const ps = problemsOf(() => loadClusterConfig(c));
    assert.equal(ps.length, new Set(ps.map((p) => `${p.path} ${p.message}`)).size);
  });
});
