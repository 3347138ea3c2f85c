/**
 * No line under src/ is longer than 160 characters. Biome formats code at lineWidth 120 (biome.json)
 * but cannot wrap long string and template literals or comments; those are split by hand (by JS
 * concatenation, so the rendered text stays the same). The check covers every file under src/: the
 * TypeScript, the host scripts (src/host/*.sh, *.py) and any data file, less the exemptions below.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { test } from "node:test";

const REPO = resolve(__dirname, "..", "..", "..");
const MAX = 160;

/**
 * Generated data, not written by hand: src/models/vllm-surface/<version>.json is written by
 * scripts/vllm-surface.py from vLLM's own argument parser, one help text per line.
 */
const GENERATED = [/^src\/models\/vllm-surface\/[^/]+\.json$/];

/** Every file under `dir`, as paths relative to `root` with forward slashes. */
function filesUnder(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...filesUnder(root, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out.map((p) => p.split(sep).join("/"));
}

/** `file:line (N chars)` for each line of the files under `root`/src longer than `max` characters. */
function longLines(root: string, skip: readonly RegExp[], max = MAX): string[] {
  const found: string[] = [];
  for (const file of filesUnder(root, "src").sort()) {
    if (skip.some((re) => re.test(file))) continue;
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        const chars = [...line].length;
        if (chars > max) found.push(`${file}:${i + 1} (${chars} chars)`);
      });
  }
  return found;
}

test(`no line under src/ is longer than ${MAX} characters (generated data exempt)`, () => {
  const long = longLines(REPO, GENERATED);
  assert.deepEqual(long, [], `lines over ${MAX} characters; split the literal or the comment:\n${long.join("\n")}`);
});

test("the line-length check names file:line of a long line and passes one of exactly the limit", () => {
  const root = mkdtempSync(join(tmpdir(), "dgx-spark-vllm-lines-"));
  try {
    mkdirSync(join(root, "src", "host"), { recursive: true });
    mkdirSync(join(root, "src", "models", "vllm-surface"), { recursive: true });
    writeFileSync(join(root, "src", "a.ts"), `const ok = 1;\n// ${"x".repeat(MAX - 3)}\n`);
    writeFileSync(join(root, "src", "host", "b.sh"), `echo ok\n\necho "${"é".repeat(MAX - 6)}"\n`);
    writeFileSync(join(root, "src", "models", "vllm-surface", "9.9.9.json"), `{"h": "${"y".repeat(400)}"}\n`);
    assert.deepEqual(longLines(root, GENERATED), [`src/host/b.sh:3 (${MAX + 1} chars)`]);
    assert.deepEqual(longLines(root, []), [
      `src/host/b.sh:3 (${MAX + 1} chars)`,
      "src/models/vllm-surface/9.9.9.json:1 (409 chars)",
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
