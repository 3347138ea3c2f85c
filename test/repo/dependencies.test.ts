/**
 * The dependency rules of .dependency-cruiser.cjs, checked with dependency-cruiser: no import
 * cycles in src/ and test/, nothing under src/ outside src/cli/ imports src/cli/, src/ never
 * imports test/, every import resolves. A fixture with one violation of each kind shows that the
 * check fails on them (so a green run means something).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";

const REPO = resolve(__dirname, "..", "..", "..");
const CONFIG = join(REPO, ".dependency-cruiser.cjs");
const DEPCRUISE = join(REPO, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string; readonly severity: string };
  readonly cycle?: readonly { readonly name: string }[];
}

interface Cruise {
  /** Exit code of the plain command (`err` report): the number of errors. */
  readonly code: number | null;
  readonly report: string;
  readonly errors: readonly Violation[];
  readonly modules: readonly string[];
}

function depcruise(cwd: string, paths: readonly string[], outputType: "json" | "err") {
  if (!existsSync(DEPCRUISE))
    throw new Error(`${DEPCRUISE} is missing: dependency-cruiser is a devDependency, run npm ci`);
  const args = [DEPCRUISE, ...paths, "--config", CONFIG, "--output-type", outputType];
  return spawnSync(process.execPath, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
}

/** Run dependency-cruiser as the check does (the repo's config) over `paths` in `cwd`. */
function cruise(cwd: string, paths: readonly string[]): Cruise {
  const j = depcruise(cwd, paths, "json");
  let doc: { summary: { violations: Violation[] }; modules: { source: string }[] };
  try {
    doc = JSON.parse(j.stdout) as typeof doc;
  } catch {
    throw new Error(`dependency-cruiser gave no JSON (exit ${j.status}): ${j.stderr}${j.stdout.slice(0, 2000)}`);
  }
  const errors = doc.summary.violations.filter((v) => v.rule.severity === "error");
  const e = depcruise(cwd, paths, "err");
  return { code: e.status, report: `${e.stdout}${e.stderr}`, errors, modules: doc.modules.map((m) => m.source) };
}

function describe(v: Violation): string {
  return `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(" -> ")})` : ""}`;
}

test("src/ and test/ keep the dependency rules (no cycles, tools never import the CLI, src never imports test)", () => {
  const r = cruise(REPO, ["src", "test"]);
  assert.deepEqual(r.errors.map(describe), []);
  assert.equal(r.code, 0, r.report);
  for (const m of ["src/cli/main.ts", "src/ssh/options.ts", "src/plan/access.ts", "test/rehearsal/lab.ts"]) {
    assert.ok(r.modules.includes(m), `${m} was checked`);
  }
  assert.ok(r.modules.length > 100, `${r.modules.length} modules checked`);
});

test("the check fails on a cycle (runtime or type-only), a tool importing src/cli/, and src/ importing test/", () => {
  const dir = mkdtempSync(join(tmpdir(), "dgx-spark-vllm-deps-"));
  try {
    const files: Record<string, string> = {
      "src/a.ts": 'import { b } from "./b";\nexport const a = () => b();\n',
      "src/b.ts": 'import { a } from "./a";\nexport const b = () => a;\n',
      "src/plan/p.ts": 'import type { Q } from "./q";\nexport interface P { q?: Q }\n',
      "src/plan/q.ts": 'import type { P } from "./p";\nexport interface Q { p?: P }\n',
      "src/gate/tool.ts": 'import { usage } from "../cli/options";\nexport const t = usage;\n',
      "src/cli/options.ts": 'export const usage = "usage";\n',
      "src/uses-test.ts": 'import { helper } from "../test/support";\nexport const u = helper;\n',
      "test/support.ts": "export const helper = 1;\n",
    };
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      writeFileSync(join(dir, f), text);
    }
    const r = cruise(dir, ["src", "test"]);
    assert.ok(r.code !== null && r.code >= 4, `dependency-cruiser exits with the number of errors:\n${r.report}`);
    const seen = r.errors.map(describe);
    for (const want of [
      /^no-circular: src\/a\.ts -> src\/b\.ts/,
      /^no-circular: src\/plan\/p\.ts -> src\/plan\/q\.ts/,
      /^tools-not-cli: src\/gate\/tool\.ts -> src\/cli\/options\.ts$/,
      /^src-not-test: src\/uses-test\.ts -> test\/support\.ts$/,
    ]) {
      assert.ok(
        seen.some((s) => want.test(s)),
        `${want} in:\n${seen.join("\n")}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
