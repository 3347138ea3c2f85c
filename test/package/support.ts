/** Shared by the package tests: the repository root, npm as a child process, and `npm pack`. */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** dist/test/package -> the repository root. */
export const ROOT = path.resolve(__dirname, "..", "..", "..");

export const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  files: string[];
  workspaces?: string[];
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

/** The environment for a child npm: the parent npm's project folder (npm_config_local_prefix) left out, so it acts on cwd. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: "false" };
  delete env.npm_config_local_prefix;
  return env;
}

/** Run npm (the one on PATH: under `npm run`, with this package's Node 24 first on PATH). */
export function npm(args: string[], cwd: string, timeoutMs = 300_000): SpawnSyncReturns<string> {
  return spawnSync("npm", args, {
    cwd,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    env: childEnv(),
  });
}

export function show(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}${r.error ? ` ${r.error.message}` : ""}\n${r.stdout}\n${r.stderr}`;
}

/**
 * `npm pack` of this package as it stands (dist/ must be built: `npm run build`). --ignore-scripts
 * so `prepare` does not recompile into the dist/ other tests are reading. With `dest`, writes the
 * tarball there and returns its path; without, a dry run.
 */
export function pack(dest?: string): { files: string[]; tarball?: string } {
  const args = ["pack", "--json", "--ignore-scripts", ...(dest ? ["--pack-destination", dest] : ["--dry-run"])];
  const r = npm(args, ROOT, 120_000);
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")} failed: ${show(r)}`);
  const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed no package: ${r.stdout}`);
  const files = info.files.map((f) => f.path).sort();
  return dest ? { files, tarball: path.join(dest, info.filename) } : { files };
}
