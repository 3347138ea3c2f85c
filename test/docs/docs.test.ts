/**
 * The docs cannot rot: every TypeScript block in README.md, CONTRIBUTING.md and docs/*.md
 * type-checks against this package, every CLI example in a shell block runs against dist/ (or
 * says why it cannot run here), and every relative link points at a file and heading that exist.
 *
 * Markers (CONTRIBUTING.md, "The docs test"):
 *   <!-- docs-test: continues -->        before a ts block: append it to the previous ts block
 *   <!-- docs-test: skip <reason> -->    before a ts block: do not type-check it
 *   <!-- docs-test: needs hardware -->   before a shell block: none of its CLI lines is run
 *   ... # needs hardware | # needs a server | # needs SSH   at the end of a CLI line: not run
 *   ... # exits N                         at the end of a CLI line: expect exit code N, not 0
 *   <!-- docs-test: stand-in {JSON} -->  before a shell block: its CLI lines run against the bundled
 *                                        stand-in server (test/support/standin.ts) started with
 *                                        those options; 127.0.0.1:8000 in them points at it
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { after, describe, it } from "node:test";
import * as ts from "typescript";

const ROOT = resolve(__dirname, "..", "..", "..");
const MAIN = join(ROOT, "dist", "src", "cli", "main.js");
const STANDIN = join(ROOT, "dist", "test", "support", "standin.js");
const SCHEMA_GEN = join(ROOT, "dist", "src", "config", "json-schema.js");

/** The documents under test; DOCS_TEST_FILES (comma-separated, relative to the root) narrows them. */
export function docFiles(): string[] {
  if (process.env.DOCS_TEST_FILES) return process.env.DOCS_TEST_FILES.split(",").map((f) => join(ROOT, f));
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => join(ROOT, "docs", f));
  return [join(ROOT, "README.md"), join(ROOT, "CONTRIBUTING.md"), ...docs];
}

export interface Block {
  file: string;
  /** 1-based line of the first line inside the fence. */
  line: number;
  lang: string;
  lines: string[];
  /** The docs-test marker just before the fence, if any ("continues", "skip ...", "needs hardware"). */
  marker?: string;
}

export function extractBlocks(file: string, text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    const open = /^```([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) {
      i++;
      continue;
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === "") k--;
    const m = k >= 0 ? /^<!--\s*docs-test:\s*(.*?)\s*-->$/.exec(lines[k]!.trim()) : null;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    assert.ok(j < lines.length, `${rel(file)}:${i + 1}: code block is never closed`);
    out.push({
      file,
      line: start + 1,
      lang: open[1]!.toLowerCase(),
      lines: lines.slice(start, j),
      ...(m ? { marker: m[1]! } : {}),
    });
    i = j + 1;
  }
  return out;
}

const rel = (f: string) => relative(ROOT, f);

// ---------------------------------------------------------------- TypeScript blocks

interface Unit {
  name: string;
  text: string;
  /** Where each piece of the unit came from: its first line in the unit and in the doc. */
  pieces: { unitLine: number; file: string; docLine: number }[];
}

export function tsUnits(blocks: Block[]): { units: Unit[]; skipped: Block[] } {
  const units: Unit[] = [];
  const skipped: Block[] = [];
  let last: Unit | undefined;
  for (const b of blocks) {
    if (b.lang !== "ts" && b.lang !== "typescript") continue;
    if (b.marker?.startsWith("skip")) {
      assert.match(
        b.marker,
        /^skip\s+\S/,
        `${rel(b.file)}:${b.line}: a skipped block needs a reason: <!-- docs-test: skip <reason> -->`,
      );
      skipped.push(b);
      continue;
    }
    if (b.marker === "continues") {
      assert.ok(
        last && last.pieces[0]!.file === b.file,
        `${rel(b.file)}:${b.line}: "continues" needs an earlier ts block in the same file`,
      );
      last.pieces.push({ unitLine: last.text.split("\n").length, file: b.file, docLine: b.line });
      last.text += `\n${b.lines.join("\n")}`;
      continue;
    }
    const name = join(ROOT, "test", "docs", ".blocks", `${basename(b.file, ".md")}-${b.line}.ts`);
    last = { name, text: b.lines.join("\n"), pieces: [{ unitLine: 0, file: b.file, docLine: b.line }] };
    units.push(last);
  }
  return { units, skipped };
}

function compilerOptions(): ts.CompilerOptions {
  const cfgPath = join(ROOT, "tsconfig.json");
  const raw = ts.readConfigFile(cfgPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(raw.config, ts.sys, ROOT, undefined, cfgPath);
  return {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    // What a user of the package writes resolves to this checkout's sources.
    paths: { "dgx-spark-vllm": [join(ROOT, "src", "index.ts")], "dgx-spark-vllm/*": [join(ROOT, "src", "*")] },
  };
}

/** Type-check the units in one program; returns the problems of each unit, mapped to doc lines. */
export function typeCheck(units: Unit[]): Map<string, string[]> {
  const options = compilerOptions();
  const virtual = new Map(units.map((u) => [u.name, u]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) => {
    const u = virtual.get(resolve(f));
    return u ? ts.createSourceFile(f, u.text, lang, true, ts.ScriptKind.TS) : getSourceFile(f, lang, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => virtual.has(resolve(f)) || fileExists(f);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => virtual.get(resolve(f))?.text ?? readFile(f);
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host });
  const out = new Map<string, string[]>(units.map((u) => [u.name, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const u = d.file && virtual.get(resolve(d.file.fileName));
    if (!u) {
      // A problem outside the blocks (e.g. in src/) would hide theirs: report it on every unit.
      const where = d.file
        ? `${rel(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
        : "(global)";
      for (const list of out.values()) list.push(`${where}: ${msg}`);
      continue;
    }
    const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line;
    const piece = [...u.pieces].reverse().find((p) => p.unitLine <= line)!;
    out.get(u.name)!.push(`${rel(piece.file)}:${piece.docLine + line - piece.unitLine}: TS${d.code}: ${msg}`);
  }
  return out;
}

// ---------------------------------------------------------------- CLI lines

export interface CliLine {
  file: string;
  line: number;
  text: string;
  /** Why it is not run here, or undefined when it is run. */
  needs?: string;
  expectedExit: number;
  /** Options of the stand-in server the line runs against (`<!-- docs-test: stand-in {...} -->`). */
  standin?: string;
}

const CLI = /(?:^|[\s;&|(])(?:npm run (?:plan|doctor|schema)\b|(?:npx )?dgx-spark-vllm(?![\w./-]))/;
const NEEDS = /#.*\bneeds (hardware|a server|SSH)\b/;

export function cliLines(blocks: Block[]): CliLine[] {
  const out: CliLine[] = [];
  for (const b of blocks) {
    if (!["sh", "bash", "console", "shell"].includes(b.lang)) continue;
    for (let i = 0; i < b.lines.length; i++) {
      const first = i;
      let text = b.lines[i]!;
      if (b.lang === "console") {
        if (!text.startsWith("$ ")) continue;
        text = text.slice(2);
      }
      while (/\\\s*$/.test(text) && i + 1 < b.lines.length) text = text.replace(/\\\s*$/, " ") + b.lines[++i]!.trim();
      if (text.trim().startsWith("#") || !CLI.test(text)) continue;
      const needs =
        NEEDS.exec(text)?.[0] ?? (b.marker?.startsWith("needs") ? `<!-- docs-test: ${b.marker} -->` : undefined);
      const exit = /#.*\bexits (\d+)\b/.exec(text);
      const standin = /^stand-in\s+(\{.*\})$/.exec(b.marker ?? "")?.[1];
      out.push({
        file: b.file,
        line: b.line + first,
        text,
        ...(needs ? { needs } : {}),
        expectedExit: exit ? Number(exit[1]) : 0,
        ...(standin ? { standin } : {}),
      });
    }
  }
  return out;
}

/** A CLI segment as the npm scripts and the package's bin would run it, against dist/. */
function rewrite(segment: string, tmp: string): string | undefined {
  const node = JSON.stringify(process.execPath);
  const s = segment.trim();
  let m: RegExpExecArray | null;
  if ((m = /^npm run (plan|doctor)(?:\s+--(?=\s|$))?(.*)$/s.exec(s)))
    return `${node} ${JSON.stringify(MAIN)} ${m[1]}${m[2]}`;
  if (/^npm run schema\b/.test(s))
    return `${node} ${JSON.stringify(SCHEMA_GEN)} ${JSON.stringify(join(tmp, "schema.out.json"))}${s.slice("npm run schema".length)}`;
  if ((m = /^(?:npx )?dgx-spark-vllm(?![\w./-])(.*)$/s.exec(s))) return `${node} ${JSON.stringify(MAIN)}${m[1]}`;
  return undefined; // not the CLI (npm ci, npm test, pulumi ...): not run here
}

/** The command a CLI line runs: its CLI segments (split on &&), each rewritten. */
export function commandFor(text: string, tmp: string): string {
  const parts = text
    .split("&&")
    .map((p) => rewrite(p, tmp))
    .filter((p): p is string => p !== undefined);
  assert.ok(parts.length > 0, `no CLI invocation found in: ${text}`);
  return parts.join(" && ");
}

/** Commands that never need a Spark, a server or SSH: marking one as "needs ..." hides rot. */
const OFFLINE =
  /(?:npm run (?:plan|schema)\b|dgx-spark-vllm\s+(?:plan\b|--help\b|\S+\s+--help\b)|npm run doctor -- --help\b)/;

/** Start the stand-in server in its own process (the CLI runs synchronously) on a free port. */
async function startStandinProcess(options: string): Promise<{ port: number; stop: () => void }> {
  const opts = { ...(JSON.parse(options) as Record<string, unknown>), port: 0 };
  const child = spawn(process.execPath, [STANDIN, JSON.stringify(opts)], {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the stand-in did not start within 10 s")), 10_000);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve((m as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`the stand-in exited (${code}) before listening`)));
  });
  return { port, stop: () => child.kill("SIGTERM") };
}

// ---------------------------------------------------------------- links

/** GitHub's heading anchors. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split("\n")) {
    if (/^```/.test(line)) inFence = !inFence;
    const h = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (h) out.add(slug(h[1]!));
  }
  return out;
}

// ---------------------------------------------------------------- the tests

const files = docFiles();
const blocksByFile = new Map(files.map((f) => [f, extractBlocks(f, readFileSync(f, "utf8"))]));
const allBlocks = [...blocksByFile.values()].flat();

describe("docs: TypeScript blocks type-check against the package", () => {
  const { units, skipped } = tsUnits(allBlocks);
  let results: Map<string, string[]> | undefined;
  const check = () => (results ??= typeCheck(units));
  for (const u of units) {
    const p = u.pieces[0]!;
    it(`${rel(p.file)}:${p.docLine}${u.pieces.length > 1 ? ` (+${u.pieces.length - 1} continuing block(s))` : ""}`, () => {
      const problems = check().get(u.name)!;
      assert.deepEqual(problems, [], problems.join("\n"));
    });
  }
  it("skips are rare and give a reason", () => {
    assert.ok(skipped.length <= 2, `${skipped.length} skipped blocks: make them complete programs instead`);
  });
});

describe("docs: CLI examples run (or say why they cannot)", () => {
  const tmp = mkdtempSync(join(tmpdir(), "dsv-docs-"));
  // A scratch working directory: a redirect (> plan.json) lands here, and stacks/ resolves.
  symlinkSync(join(ROOT, "stacks"), join(tmp, "stacks"));
  symlinkSync(join(ROOT, "schema"), join(tmp, "schema"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const lines = cliLines(allBlocks);

  for (const l of lines) {
    const where = `${rel(l.file)}:${l.line}`;
    if (l.needs) {
      it(`${where} is marked (${l.needs.replace(/^#\s*/, "")}), not run: ${l.text.trim()}`, () => {
        assert.doesNotMatch(
          l.text.replace(/#.*$/, ""),
          OFFLINE,
          `${where}: this command runs offline; run it instead of marking it`,
        );
      });
      continue;
    }
    it(`${where} runs${l.standin ? " against the stand-in" : ""}: ${l.text.trim()}`, async () => {
      let cmd = commandFor(l.text, tmp);
      const server = l.standin ? await startStandinProcess(l.standin) : undefined;
      if (server) cmd = cmd.replaceAll("127.0.0.1:8000", `127.0.0.1:${server.port}`);
      try {
        runLine(l, cmd, where);
      } finally {
        server?.stop();
      }
    });
  }
  /** Run one CLI line and check its exit code. */
  function runLine(l: CliLine, cmd: string, where: string): void {
    const r = spawnSync("bash", ["-c", cmd], {
      cwd: tmp,
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, VLLM_API_KEY: "" },
    });
    assert.equal(
      r.status,
      l.expectedExit,
      `${where}: \`${l.text.trim()}\` exited ${r.status ?? r.signal} (expected ${l.expectedExit}). If it needs a Spark, a server or SSH, end the line with "# needs hardware".\n` +
        `ran: ${cmd}\nstderr: ${r.stderr.slice(-1500)}\nstdout: ${r.stdout.slice(-500)}`,
    );
  }

  it("the offline commands are covered: plan, plan --json, bench/gate/doctor --help, schema", {
    skip: !!process.env.DOCS_TEST_FILES,
  }, () => {
    const run = lines.filter((l) => !l.needs).map((l) => l.text);
    for (const want of [
      /npm run plan\b/,
      /plan.*--json/,
      /bench --help/,
      /gate --help/,
      /doctor --help/,
      /npm run schema/,
    ]) {
      assert.ok(
        run.some((t) => want.test(t)),
        `no doc runs ${want}`,
      );
    }
  });
});

describe("docs: relative links point at files and headings that exist", () => {
  for (const f of files) {
    it(rel(f), () => {
      const text = readFileSync(f, "utf8").replace(/^```[\s\S]*?^```/gm, "");
      const problems: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split("#") as [string, string | undefined];
        const file = path === "" ? f : resolve(dirname(f), path);
        if (!existsSync(file)) {
          problems.push(`${target}: no such file`);
          continue;
        }
        if (anchor !== undefined && file.endsWith(".md") && !anchors(readFileSync(file, "utf8")).has(anchor)) {
          problems.push(`${target}: no heading with that anchor in ${rel(file)}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  }
});

describe("docs test machinery: it catches rot", () => {
  const md = [
    "```ts",
    'import { planCluster } from "dgx-spark-vllm";',
    "const n: number = planCluster;",
    "```",
    "",
    "```sh",
    "npm run plan -- --stack nosuchstack",
    "npx dgx-spark-vllm bench --endpoint http://spark-head.local:8000   # needs hardware",
    'dgx-spark-vllm-watchdog pause "firmware"',
    "sudo ls /var/lib/dgx-spark-vllm/journal",
    "```",
  ].join("\n");
  const blocks = extractBlocks(join(ROOT, "docs", "fake.md"), md);

  it("a block that does not type-check is reported at its doc line", () => {
    const { units } = tsUnits(blocks);
    const problems = typeCheck(units).get(units[0]!.name)!;
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /^docs\/fake\.md:3: TS2322: /);
  });

  it("CLI lines are found (and only those), marks are read, and a broken one exits non-zero", () => {
    const lines = cliLines(blocks);
    assert.deepEqual(
      lines.map((l) => [l.line, l.needs !== undefined]),
      [
        [7, false],
        [8, true],
      ],
    );
    const tmp = mkdtempSync(join(tmpdir(), "dsv-docs-self-"));
    try {
      const r = spawnSync("bash", ["-c", commandFor(lines[0]!.text, tmp)], { cwd: tmp, encoding: "utf8" });
      assert.equal(r.status, 2, r.stderr);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("a stand-in marker gives a block's CLI lines the server options they run against", () => {
    const md = [
      '<!-- docs-test: stand-in {"behavior":{"tokenIntervalMs":1}} -->',
      "```sh",
      "npx dgx-spark-vllm bench --endpoint http://127.0.0.1:8000",
      "```",
    ];
    const lines = cliLines(extractBlocks(join(ROOT, "docs", "fake.md"), md.join("\n")));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.standin, '{"behavior":{"tokenIntervalMs":1}}');
    assert.equal(lines[0]!.needs, undefined);
  });

  it("GitHub heading anchors", () => {
    assert.equal(
      slug("Plan JSON (`--json`, `ClusterPlan` in `src/plan/types.ts`)"),
      "plan-json---json-clusterplan-in-srcplantypests",
    );
    assert.equal(slug("`doctor`: a read-only health check"), "doctor-a-read-only-health-check");
  });
});
