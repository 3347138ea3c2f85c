/**
 * Secrets (HF token, API key, SSH private keys) travel through the config as `Secret` objects.
 * A Secret prints, stringifies and serialises as `[secret]`; only `reveal()` gives the value, and
 * only the Pulumi components call it, to hand the value to Pulumi as a secret Output.
 */

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** Where a secret's value came from; tells `plan` what to show. */
export type SecretState =
  /** A plain value (a string in code, or a decrypted Pulumi config value). */
  | "value"
  /** A Pulumi Output (e.g. `config.requireSecret(...)`), resolved at deploy time. */
  | "output"
  /** An encrypted `secure:` entry read from a stack file without the passphrase. */
  | "encrypted";

export class Secret {
  readonly #value: unknown;
  readonly state: SecretState;

  constructor(value: unknown, state: SecretState) {
    this.#value = value;
    this.state = state;
  }

  /** The value: a string, or a Pulumi Output<string>; undefined when only the ciphertext is known. */
  reveal(): unknown {
    return this.state === "encrypted" ? undefined : this.#value;
  }

  toString(): string {
    return "[secret]";
  }
  toJSON(): string {
    return "[secret]";
  }
  [INSPECT](): string {
    return "[secret]";
  }
}

function isPulumiOutput(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as { __pulumiOutput?: unknown }).__pulumiOutput === true;
}

/** Turn what a user wrote for a secret field into a Secret, or say why it is not one. */
export function toSecret(v: unknown): Secret | string {
  if (v instanceof Secret) return v;
  if (typeof v === "string") return v.length > 0 ? new Secret(v, "value") : "must not be empty (leave it out instead)";
  if (isPulumiOutput(v)) return new Secret(v, "output");
  if (typeof v === "object" && v !== null && typeof (v as { secure?: unknown }).secure === "string") {
    return new Secret(undefined, "encrypted");
  }
  return "must be a string, a Pulumi secret Output, or an encrypted `secure:` stack value";
}

/** How `plan` shows a secret field: never the value. */
export function describeSecret(s: Secret | undefined): "[secret]" | "[secret] (encrypted in stack file)" | "not set" {
  if (!s) return "not set";
  return s.state === "encrypted" ? "[secret] (encrypted in stack file)" : "[secret]";
}
