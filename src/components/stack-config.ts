/**
 * The cluster input a Pulumi program reads from its stack: the `dgx-spark-vllm:` sections as
 * objects and the secrets as secret Outputs. The repository's program (src/program.ts) and the
 * engine rehearsal's second program (test/engine/program.ts) use it; unlike src/program.ts, importing
 * this module deploys nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, CONFIG_SECTIONS, placeSecret, SECRET_KEYS, type SecretKey } from "../config/load";

/** Assemble the cluster input from the stack's Pulumi config (sections as objects, secrets as secret Outputs). */
export function clusterInputFromPulumiConfig(
  cfg: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE),
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const key of CONFIG_SECTIONS) {
    const v = cfg.getObject<unknown>(key);
    if (v !== undefined) input[key] = v;
  }
  for (const key of Object.keys(SECRET_KEYS) as SecretKey[]) {
    // The API key's value is read as it is (it becomes a secret Output in the components), so the
    // config check sees it before anything is created: its length and shape are rules (config/api-key.ts).
    const v = key === "apiKey" ? cfg.get(key) : cfg.getSecret(key);
    if (v === undefined) continue;
    placeSecret(input, SECRET_KEYS[key], v);
  }
  return input;
}
