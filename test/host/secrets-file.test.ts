/**
 * A container's secrets file, run for real in bash: the rendered secrets-file step (its host paths
 * and journal pointed at a scratch folder, nothing else changed) writes the values it reads on
 * stdin into a root-only file; the container's wrapper exports them and execs the original argv
 * exactly, a JSON argument included; the step's delete leaves nothing behind.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  SECRETS_ROOT,
  secretsFileSpec,
  secretsFileStdin,
  secretsFileStep,
  secretsWrapperScript,
  withSecretsFile,
} from "../../src/plan/secrets-file";
import type { ContainerSpec } from "../../src/plan/types";
import { shq } from "../../src/shell/quote";

const scratch = mkdtempSync(join(tmpdir(), "dsv-secrets-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const NAMES = ["HF_TOKEN", "VLLM_API_KEY"];
// Values a naive writer would break on: quotes, expansions, a backslash, spaces.
const VALUES = ["hf_ 'quoted' $HOME `id` \\ end", 'sk-"x";$(echo pwned) *'];

function spec(name: string): ContainerSpec {
  const secretsFile = secretsFileSpec(name);
  return {
    name,
    image: "img",
    entrypoint: [],
    command: withSecretsFile(secretsFile, ["vllm", "serve"]),
    network: "host",
    ipc: "host",
    privileged: false,
    capAdd: [],
    devices: [],
    gpus: "all",
    init: true,
    ulimits: [],
    volumes: [],
    env: {},
    secretEnv: NAMES,
    secretsFile,
    restart: "no",
    labels: {},
  };
}

/** The rendered script with its host root and journal in `dir` (the only change). */
function local(text: string, dir: string): string {
  return text.replace(/^J=.*$/m, `J=${dir}/journal`).replaceAll(SECRETS_ROOT, `${dir}/secrets`);
}

function bash(args: string[], input = ""): { status: number | null; out: string; err: string } {
  const r = spawnSync("bash", args, { input, encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("secrets file: the step writes it from stdin, root-only", () => {
  const dir = join(scratch, "host");
  const c = spec("dgx-spark-vllm-node-a");
  const step = secretsFileStep(c);
  assert.ok(step);
  const file = join(dir, "secrets", c.name, "secrets.env");

  it("has no value in its text, and no step without secrets", () => {
    for (const v of VALUES) assert.ok(!step.create.includes(v) && !step.delete.includes(v));
    assert.equal(secretsFileStep({ ...spec("x"), secretEnv: [] }), undefined);
  });

  it("writes NAME='value' lines to a 0600 file in 0700 folders, and says so without a value", () => {
    const r = bash(["-c", local(step.create, dir)], secretsFileStdin(NAMES, VALUES));
    assert.equal(r.status, 0, r.err);
    for (const v of VALUES) assert.ok(!r.out.includes(v) && !r.err.includes(v), "no value printed");
    assert.match(r.out, /secrets file .*secrets\.env written \(HF_TOKEN VLLM_API_KEY\)/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "secrets", c.name)).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, "secrets")).mode & 0o777, 0o700);
    assert.equal(readFileSync(file, "utf8").split("\n").length, 3, "one line per secret");
  });

  it("exports exactly the values read on stdin (sourced as the wrapper does)", () => {
    const r = bash(["-c", `set -a; . ${file}; set +a; printf '%s\\0' "$HF_TOKEN" "$VLLM_API_KEY"`]);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(r.out.split("\0").slice(0, 2), VALUES);
  });

  it("rewrites the file with new values (a changed key), idempotently", () => {
    const r = bash(["-c", local(step.create, dir)], secretsFileStdin(NAMES, ["h2", "k2"]));
    assert.equal(r.status, 0, r.err);
    assert.equal(readFileSync(file, "utf8"), "HF_TOKEN='h2'\nVLLM_API_KEY='k2'\n");
  });

  it("fails, naming the missing variable and not writing, when stdin has too few lines", () => {
    const d2 = join(scratch, "short");
    const r = bash(["-c", local(step.create, d2)], "only-one\n");
    assert.equal(r.status, 1);
    assert.match(r.err, /stdin ended before the value of VLLM_API_KEY/);
    assert.ok(!existsSync(join(d2, "secrets", c.name, "secrets.env")));
  });

  it("refuses a value with a newline before anything runs (it would split into two lines)", () => {
    assert.throws(() => secretsFileStdin(NAMES, ["a\nb", "c"]), /HF_TOKEN contains a newline/);
  });

  it("delete removes the file and the folders it made, and the journal record", () => {
    const r = bash(["-c", local(step.delete, dir)]);
    assert.equal(r.status, 0, r.err);
    assert.ok(!existsSync(join(dir, "secrets")), "the secrets folders are gone");
    assert.ok(!existsSync(dir), "journal and its parent gone too (nothing else was there)");
  });
});

describe("secrets file: the shared folders stay while another container (another cluster) uses them", () => {
  const dir = join(scratch, "two");
  const blue = secretsFileStep(spec("dgx-spark-vllm-blue-node-a"));
  const green = secretsFileStep(spec("dgx-spark-vllm-green-node-a"));
  assert.ok(blue && green);
  const run = (text: string, input = "") => {
    const r = bash(["-c", local(text, dir)], input);
    assert.equal(r.status, 0, r.err);
  };

  it("whichever is removed first, the last remove takes the shared folder the first create made", () => {
    for (const [first, second] of [
      [blue, green],
      [green, blue],
    ] as const) {
      run(blue.create, secretsFileStdin(NAMES, VALUES));
      run(green.create, secretsFileStdin(NAMES, VALUES));
      run(first.delete);
      assert.ok(existsSync(join(dir, "secrets")), "the other container's folder is still in it");
      run(second.delete);
      assert.ok(!existsSync(join(dir, "secrets")), "the last remove took the shared folder");
    }
  });

  it("a shared folder that was there before any create stays", () => {
    const pre = join(scratch, "pre");
    const r0 = bash(["-c", `mkdir -p ${shq(`${pre}/secrets`)} ${shq(`${pre}/journal`)}`]);
    assert.equal(r0.status, 0);
    for (const t of [blue.create, green.create])
      assert.equal(bash(["-c", local(t, pre)], secretsFileStdin(NAMES, VALUES)).status, 0);
    for (const t of [green.delete, blue.delete]) assert.equal(bash(["-c", local(t, pre)]).status, 0);
    assert.ok(existsSync(join(pre, "secrets")), "not ours to remove");
    assert.ok(!existsSync(join(pre, "secrets", "dgx-spark-vllm-blue-node-a")));
  });
});

describe("secrets wrapper: exports the file, then execs the original argv exactly", () => {
  const dir = join(scratch, "wrap");
  const c = spec("dgx-spark-vllm-node-b");
  const step = secretsFileStep(c) as NonNullable<ReturnType<typeof secretsFileStep>>;
  const file = join(dir, "secrets", c.name, "secrets.env");
  const JSON_ARG = JSON.stringify({ method: "mtp", num_speculative_tokens: 2, x: "a b $HOME 'q' \"d\"" });

  it("passes a JSON argument, an empty one and spaces through unchanged, with the variables set", () => {
    assert.equal(bash(["-c", local(step.create, dir)], secretsFileStdin(NAMES, VALUES)).status, 0);
    const argv = ["--speculative-config", JSON_ARG, "", "two words", "*"];
    // The wrapper as the container gets it, with only the file's path pointing at the scratch copy.
    const wrapped = withSecretsFile(c.secretsFile as NonNullable<typeof c.secretsFile>, [
      "bash",
      "-c",
      'printf "%s\\0" "$0" "$@" "$HF_TOKEN" "$VLLM_API_KEY" "$BASHPID"',
      "serve",
      ...argv,
    ]);
    const script = wrapped[2] as string;
    assert.equal(script, secretsWrapperScript(`${c.secretsFile?.containerDir}/${c.secretsFile?.fileName}`));
    const r = bash(["-c", secretsWrapperScript(file), ...wrapped.slice(3)]);
    assert.equal(r.status, 0, r.err);
    const out = r.out.split("\0");
    assert.deepEqual(out.slice(0, 1 + argv.length), ["serve", ...argv], "argv byte for byte");
    assert.deepEqual(out.slice(1 + argv.length, 3 + argv.length), VALUES, "the variables are exported");
  });

  it("execs the process (no shell left in between) so docker --init's signals reach it", () => {
    // Started in the background: under exec, the process has the pid the wrapper was started with.
    const r = bash(["-c", `bash -c ${shq(secretsWrapperScript(file))} wrap bash -c 'echo "$$"' & echo "$!"; wait`]);
    assert.equal(r.status, 0, r.err);
    const [started, processPid] = r.out.trim().split("\n");
    assert.equal(processPid, started, "the process replaced the wrapper's shell");
  });

  it("fails with a message (and does not run the process) when the file is missing", () => {
    const r = bash(["-c", secretsWrapperScript(join(dir, "missing.env")), "wrap", "echo", "ran"]);
    assert.equal(r.status, 1);
    assert.match(r.err, /cannot read the secrets file .*missing\.env/);
    assert.ok(!r.out.includes("ran"));
  });
});
