/**
 * A container's secret variables (HF_TOKEN, VLLM_API_KEY) without their values in docker's
 * container config: docker stores a container's env in plain text (`docker inspect`, the docker
 * provider's stored outputs), so the values go to a root-only file on the host instead, written
 * from stdin by a host step, mounted read-only, and exported by a small wrapper just before it
 * execs the container's original command. The file is under /var/lib (not /run) so that a
 * `docker start` after a reboot (the watchdog's restarts) still finds it.
 */
import { hostFile, varBlock } from "../shell/host";
import { sh } from "../shell/sh";
import { script, undoScript } from "../shell/script";
import type { ContainerSpec, HostStep, SecretsFileSpec } from "./types";

/** Host folder holding one root-only folder per container (mode 0700). */
export const SECRETS_ROOT = "/var/lib/dgx-spark-vllm/secrets";
/** Where a container sees its secrets folder (read-only). */
export const SECRETS_CONTAINER_DIR = "/run/dgx-spark-vllm";
export const SECRETS_FILE_NAME = "secrets.env";
/** argv[0] of the wrapper's shell (what `ps` shows for it until it execs). */
export const SECRETS_WRAPPER_NAME = "dgx-spark-vllm-secrets";

/** The secrets file of the container named `container`. */
export function secretsFileSpec(container: string): SecretsFileSpec {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(container))
    throw new Error(`not a container name for a secrets folder: ${JSON.stringify(container)}`);
  return { hostDir: `${SECRETS_ROOT}/${container}`, containerDir: SECRETS_CONTAINER_DIR, fileName: SECRETS_FILE_NAME };
}

/**
 * The wrapper's script: export every assignment of `file` (`set -a`), then exec the original
 * argv ("$@", so every argument, JSON included, reaches the process byte for byte). bash, as the
 * plan's other in-container wrappers (Ray start, GID resolver) use; under docker's `--init` the
 * init process's child is this shell, which `exec` replaces with the process itself.
 */
export function secretsWrapperScript(file: string): string {
  const missing = `dgx-spark-vllm: cannot read the secrets file ${file} (written by the secrets-file step): run pulumi up`;
  // The directive: shellcheck cannot follow a file that exists only in the container.
  return `# shellcheck source=/dev/null\n${sh`set -a; . ${file} || { echo ${missing} >&2; exit 1; }; set +a; exec "$@"`}`;
}

/** `command` wrapped so the secrets file's variables are exported before it runs. */
export function withSecretsFile(s: SecretsFileSpec, command: readonly string[]): string[] {
  return ["bash", "-c", secretsWrapperScript(`${s.containerDir}/${s.fileName}`), SECRETS_WRAPPER_NAME, ...command];
}

/**
 * The host step that writes a container's secrets file. stdin: one line per `spec.secretEnv` name,
 * in that order, each the variable's value (no newline inside a value). The values are never in
 * the script's text; the folder is 0700 and the file 0600, root's. Delete removes the file and the
 * folders the step made (noted in the host's journal). None when the container has no secret.
 */
export function secretsFileStep(spec: ContainerSpec): HostStep | undefined {
  const s = spec.secretsFile;
  if (spec.secretEnv.length === 0 || !s) return undefined;
  return {
    id: "secrets-file",
    description:
      `${s.hostDir}/${s.fileName} (root only) with ${spec.secretEnv.join(", ")}` +
      ` for container ${spec.name}, read on stdin; mounted read-only at ${s.containerDir}`,
    ...secretsFileScripts(spec.name, s, spec.secretEnv),
    after: [],
  };
}

/**
 * The create and delete scripts of a secrets file for any owner: a container (above), or a unit
 * that reads it with systemd's EnvironmentFile= (the router, src/plan/router.ts). `owner` names
 * the folder's journal record and is the CONTAINER of src/host/secrets-file.sh's messages (the
 * variable keeps its name so that the containers' steps render as before). Same folder root, same
 * host-wide journal, same stdin contract, and the last remove on a host empties the shared folders,
 * whichever owner it was.
 */
export function secretsFileScripts(
  owner: string,
  s: SecretsFileSpec,
  secretEnv: readonly string[],
): { create: string; delete: string } {
  const vars = varBlock({
    CONTAINER: owner,
    SECRETS_DIR: s.hostDir,
    SECRETS_FILE: `${s.hostDir}/${s.fileName}`,
    SECRET_NAMES: [...secretEnv],
    JOURNAL_KEY: `secrets%${owner}`,
  });
  // journal.sh for the holders' lock: the folders above the owner's are shared by every cluster on the host.
  const fns = [hostFile("journal.sh"), hostFile("secrets-file.sh")].map((f) => f.replace(/\n$/, "")).join("\n");
  return { create: script(vars, fns, "secrets_file_write"), delete: undoScript(vars, fns, "secrets_file_remove") };
}

/** The step's stdin for these values, in `secretEnv` order. Throws (naming the variable, never the value) on a newline. */
export function secretsFileStdin(names: readonly string[], values: readonly string[]): string {
  return names
    .map((k, i) => {
      const v = values[i] ?? "";
      if (/[\n\r\0]/.test(v)) throw new Error(`the secret ${k} contains a newline, carriage return or NUL character`);
      return `${v}\n`;
    })
    .join("");
}

/** The command the secrets wrapper execs (argv unchanged when it has no wrapper). */
export function withoutSecretsFile(command: readonly string[]): readonly string[] {
  return command[0] === "bash" && command[1] === "-c" && command[3] === SECRETS_WRAPPER_NAME
    ? command.slice(4)
    : command;
}
