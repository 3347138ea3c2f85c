/**
 * The two ways TypeScript puts data into host shell: the sh tagged template and the variable
 * block in front of a src/host file. Whatever the value, bash gets it back exactly.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { hostFile, hostScript, varBlock } from "../../src/shell/host";
import { rawShell, sh } from "../../src/shell/sh";

const NASTY = [
  "plain",
  "two words",
  "it's",
  '"double"',
  "$(id)",
  "`id`",
  "a\nb",
  "*",
  "-n",
  "",
  "back\\slash",
  "ünïcode",
];

const bash = (text: string) => spawnSync("bash", ["-c", text], { encoding: "utf8" });

describe("sh: every interpolated value is one word", () => {
  it("strings and numbers arrive as they were", () => {
    for (const v of NASTY) {
      const r = bash(sh`printf '%s' ${v}`);
      assert.equal(r.stdout, v, JSON.stringify(v));
    }
    assert.equal(bash(sh`echo ${42}`).stdout, "42\n");
  });
  it("an array is separately quoted words", () => {
    const r = bash(sh`printf '<%s>' ${NASTY}`);
    assert.equal(r.stdout, NASTY.map((v) => `<${v}>`).join(""));
  });
  it("rawShell is inserted as it is (for already-rendered shell only)", () => {
    assert.equal(sh`x ${rawShell("$(echo hi)")} y`, "x $(echo hi) y");
    assert.equal(bash(sh`echo ${rawShell("$((1 + 2))")}`).stdout, "3\n");
  });
});

describe("varBlock: the variables in front of a host file", () => {
  it("words, arrays and maps round-trip through bash", () => {
    const map = new Map(NASTY.filter((k) => k !== "").map((k, i) => [k, NASTY[(i + 3) % NASTY.length] as string]));
    const block = varBlock({ ONE: "two words $(id)", NUM: 7, LIST: NASTY, MAP: map, EMPTY: [], NOMAP: new Map() });
    const r = bash(
      `${block}\nprintf '%s\\0' "$ONE" "$NUM" "\${#LIST[@]}" "\${LIST[@]}" "\${#EMPTY[@]}" "\${#NOMAP[@]}"; for k in "\${!MAP[@]}"; do printf '%s=%s\\0' "$k" "\${MAP[$k]}"; done`,
    );
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.split("\0").slice(0, -1);
    assert.deepEqual(out.slice(0, 3 + NASTY.length + 2), [
      "two words $(id)",
      "7",
      String(NASTY.length),
      ...NASTY,
      "0",
      "0",
    ]);
    const got = new Map(
      out.slice(3 + NASTY.length + 2).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    // keys containing "=" are not in NASTY, so the split is exact
    assert.deepEqual(new Map([...got].sort()), new Map([...map].sort()));
  });
  it("refuses a name that is not a shell variable", () => {
    assert.throws(() => varBlock({ "a-b": "x" }), /not a shell variable name/);
    assert.throws(() => varBlock({ "X;rm": "x" }), /not a shell variable name/);
  });
});

describe("hostFile and hostScript", () => {
  it("a file is inlined without its #! line; the script is head, variables, access, files", () => {
    assert.doesNotMatch(hostFile("lib.sh"), /^#!/);
    const s = hostScript({
      head: ["set -euo pipefail"],
      vars: { A: "1" },
      access: "on_node() { :; }",
      files: ["lib.sh"],
    });
    assert.ok(
      s.startsWith("set -euo pipefail\nA=1\n\non_node() { :; }\n\n# dgx-spark-vllm host library"),
      s.slice(0, 200),
    );
    assert.ok(s.endsWith("\n") && !s.endsWith("\n\n"));
  });
  it("only shipped file names", () => {
    assert.throws(() => hostFile("../package.json"), /not a host script name/);
  });
});
