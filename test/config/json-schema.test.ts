/**
 * schema/stack-config.schema.json: generated from the zod schema, committed, and the three
 * example stacks validate against it (with ajv, JSON Schema draft-07, what the YAML language server supports).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import Ajv from "ajv";
import { parse as parseYaml } from "yaml";
import { stackConfigJsonSchemaText } from "../../src/config/json-schema";

const ROOT = resolve(__dirname, "..", "..", "..");
const FILE = join(ROOT, "schema", "stack-config.schema.json");
const STACKS = ["1m", "512k", "256k"] as const;
const MODELINE = "# yaml-language-server: $schema=../schema/stack-config.schema.json";

function validator() {
  // strict: unknown keywords or a malformed schema throw at compile time. Formats (ipv4, uri)
  // are annotations here, as in most editors; plan checks the values.
  const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
  return ajv.compile(JSON.parse(readFileSync(FILE, "utf8")));
}

const stack = (s: string) =>
  parseYaml(readFileSync(join(ROOT, "stacks", `Pulumi.${s}.yaml`), "utf8")) as Record<string, any>;

describe("the stack-config JSON Schema", () => {
  it("is committed as the generator makes it now (run `npm run schema` after changing src/config/schema.ts)", () => {
    assert.equal(readFileSync(FILE, "utf8"), stackConfigJsonSchemaText());
  });

  for (const s of STACKS) {
    it(`stacks/Pulumi.${s}.yaml validates and points an editor at the schema`, () => {
      const validate = validator();
      const ok = validate(stack(s));
      assert.ok(ok, JSON.stringify(validate.errors, null, 2));
      assert.equal(readFileSync(join(ROOT, "stacks", `Pulumi.${s}.yaml`), "utf8").split("\n")[0], MODELINE);
    });
  }

  it("accepts encrypted secrets and other namespaces' keys", () => {
    const doc = stack("1m");
    doc.config["dgx-spark-vllm:apiKey"] = { secure: "v1:AAAABBBB" };
    doc.config["dgx-spark-vllm:hfToken"] = { secure: "v1:CCCCDDDD" };
    doc.config["docker:host"] = "ssh://spark@spark-head.local";
    doc.config["dgx-spark-vllm:ssh"].privateKey = { secure: "v1:EEEE" };
    doc.encryptionsalt = "v1:abc";
    const validate = validator();
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
  });

  it("rejects what the loader rejects: a misspelt key, a wrong type, an unknown field, a bad pattern", () => {
    const cases: [string, (d: Record<string, any>) => void][] = [
      ["misspelt namespace key", (d) => (d.config["dgx-spark-vllm:serve"] = { profile: "1m" })],
      ["profile not a profile", (d) => (d.config["dgx-spark-vllm:serving"].profile = "2m")],
      ["unknown field", (d) => (d.config["dgx-spark-vllm:serving"].maxModelLen = 1000)],
      ["node name with capitals", (d) => (d.config["dgx-spark-vllm:nodes"][0].name = "Spark_Head")],
      ["one node", (d) => d.config["dgx-spark-vllm:nodes"].pop()],
      ["utilisation out of range", (d) => (d.config["dgx-spark-vllm:serving"].gpuMemoryUtilization = 0.97)],
      ["empty secret", (d) => (d.config["dgx-spark-vllm:apiKey"] = "")],
      ["secret without secure", (d) => (d.config["dgx-spark-vllm:apiKey"] = { cipher: "x" })],
      ["no nodes", (d) => delete d.config["dgx-spark-vllm:nodes"]],
    ];
    const validate = validator();
    for (const [what, change] of cases) {
      const doc = stack("1m");
      change(doc);
      assert.equal(validate(doc), false, `${what} should not validate`);
    }
  });
});
