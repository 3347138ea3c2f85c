/** The command line's own help, version, usage errors with did-you-mean, and bad input that never echoes the file. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { main } from "../../src/cli/main";

const ROOT = resolve(__dirname, "..", "..", "..");
const TMP = mkdtempSync(join(tmpdir(), "dsv-usage-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

/** A token-shaped fake, assembled at run time so no token-shaped text is committed. */
const FAKE = ["sk", "-", "R".repeat(8), "4".repeat(8), "w".repeat(8)].join("");

async function cli(args: string[]) {
  let out = "",
    err = "";
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("help, version and usage", () => {
  it("bare invocation prints usage on stderr and exits 2", async () => {
    const r = await cli([]);
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    assert.match(r.err, /^usage: dgx-spark-vllm plan/);
  });

  it("--help prints usage on stdout and exits 0", async () => {
    const r = await cli(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: dgx-spark-vllm plan/);
  });

  it("--version prints the package version", async () => {
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
    const r = await cli(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.out, `${version}\n`);
    const bin = spawnSync(process.execPath, [join(ROOT, "dist", "src", "cli", "main.js"), "--version"], {
      encoding: "utf8",
    });
    assert.equal(bin.stdout, `${version}\n`);
  });

  for (const [command, own] of [
    ["plan", /^usage: dgx-spark-vllm plan /],
    ["doctor", /dgx-spark-vllm doctor/],
    ["bench", /dgx-spark-vllm bench/],
    ["gate", /dgx-spark-vllm gate/],
  ] as const) {
    it(`${command} --help prints its own usage on stdout and exits 0`, async () => {
      const r = await cli([command, "--help"]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, own);
      assert.equal(r.err, "");
      if (command === "plan") assert.doesNotMatch(r.out, /dgx-spark-vllm (bench|gate|doctor)/);
    });
  }

  it("an unknown command gets a did-you-mean", async () => {
    const r = await cli(["plna"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^unknown command 'plna' \(did you mean 'plan'\?\)/);
  });

  it("an unknown option gets a did-you-mean, in every command", async () => {
    for (const [args, hint] of [
      [["plan", "--jsn"], "--json"],
      [["plan", "--stak", "1m"], "--stack"],
      [["doctor", "--confg", "x.yaml"], "--config"],
      [["bench", "--endpont", "http://x"], "--endpoint"],
    ] as const) {
      const r = await cli([...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, new RegExp(`^Unknown option '${args[1]}' \\(did you mean '${hint}'\\?\\)`), r.err);
    }
  });

  it("--stack with an unknown name lists the available stacks once", async () => {
    const r = await cli(["plan", "--stack", "nosuch"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--stack: no stack file for 'nosuch'; available: 0731-dspark, 1m, 256k, 2x2-replicas, 512k\n/);
    assert.equal(r.err.match(/256k/g)?.length, 1, r.err);
    const near = await cli(["plan", "--stack", "512"]);
    assert.match(near.err, /no stack file for '512' \(did you mean '512k'\?\)/);
  });
});

describe("bad input files", () => {
  const files: [string, string, RegExp][] = [
    [
      "bad.yaml",
      `config:\n  dgx-spark-vllm:apiKey: ${FAKE}\n  dgx-spark-vllm:nodes: [a, b\n  x: 1\n`,
      /line 4, column 3: not valid YAML/,
    ],
    ["bad.json", `{"serving": {"apiKey": ${FAKE}}}\n`, /line 1, column 24: not valid JSON/],
    ["bad2.json", `{"serving": {"apiKey": "${FAKE}" "port": 1}}\n`, /line 1, column \d+: not valid JSON/],
  ];
  for (const [name, text, expected] of files) {
    it(`${name}: exit 2, file, line and column, no text of the file on stderr or in --json`, async () => {
      const file = join(TMP, name);
      writeFileSync(file, text);
      const r = await cli(["plan", "--config", file, "--json"]);
      assert.equal(r.code, 2);
      assert.match(r.err, expected);
      const problems = JSON.parse(r.out).problems;
      assert.deepEqual(problems.length, 1);
      assert.equal(problems[0].path, file);
      assert.match(problems[0].message, expected);
      for (const s of [r.out, r.err]) assert.ok(!s.includes(FAKE.slice(3, 14)), `the output shows the file: ${s}`);
    });
  }

  it("a stack file with an empty config: exits 2 with a sentence, no stack trace", () => {
    const file = join(TMP, "Pulumi.empty.yaml");
    writeFileSync(file, "config:\n");
    const bin = spawnSync(process.execPath, [join(ROOT, "dist", "src", "cli", "main.js"), "plan", "--config", file], {
      encoding: "utf8",
    });
    assert.equal(bin.status, 2, bin.stderr);
    assert.match(bin.stderr, /config: is empty: a stack file needs at least dgx-spark-vllm:nodes/);
    assert.doesNotMatch(bin.stderr, /\n\s+at /);
  });

  it("a key without the namespace is refused, naming it", async () => {
    const file = join(TMP, "Pulumi.nons.yaml");
    const stack = readFileSync(join(ROOT, "stacks", "Pulumi.1m.yaml"), "utf8");
    writeFileSync(file, `${stack}  serving:\n    profile: 256k\n`);
    const r = await cli(["plan", "--config", file]);
    assert.equal(r.code, 2);
    assert.match(r.err, /- serving: has no namespace.*write dgx-spark-vllm:serving/);
  });

  it("a shape error and a cross-field error in one run", async () => {
    const file = join(TMP, "mixed.json");
    const stack = {
      ssh: { user: "spark", useAgent: true },
      nodes: [
        { name: "a", role: "head", ssh: { host: "a" }, dataPlane: [{ netdev: "e0", hca: "r0", address: "10.0.0.1" }] },
        {
          name: "a",
          role: "worker",
          ssh: { host: "b" },
          dataPlane: [{ netdev: "e0", hca: "r0", address: "10.0.0.2" }],
        },
      ],
      serving: { allowUnauthenticated: true, profle: "1m" },
      hardening: { umaAlertThresholdGb: "lots" },
    };
    writeFileSync(file, JSON.stringify(stack));
    const r = await cli(["plan", "--config", file]);
    assert.equal(r.code, 2);
    assert.match(r.err, /- serving\.profle: is not a known setting \(did you mean 'profile'\?\)/);
    assert.match(r.err, /- hardening\.umaAlertThresholdGb: /);
    assert.match(r.err, /- nodes\[1\]\.name: name 'a' is already used by nodes\[0\]/);
  });
});
