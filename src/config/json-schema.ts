/**
 * A JSON Schema of a Pulumi stack file (`stacks/Pulumi.<stack>.yaml`), generated from the zod
 * schema in ./schema.ts, so that an editor can complete and check the `dgx-spark-vllm:` keys.
 *
 *   npm run schema      # rewrites schema/stack-config.schema.json
 *
 * Draft-07, not zod's default 2020-12: the YAML language server (VS Code's YAML extension and the
 * editors that embed it) supports draft-07 fully and newer drafts only in part.
 *
 * What zod's `z.toJSONSchema` cannot express, and what is done about it here:
 * - Secret fields are a transform (string | Pulumi Output | `{ secure: ... }` -> Secret). With
 *   `io: "input"` a transform's input is `z.unknown()`, i.e. `{}`; it is replaced by `#/definitions/secret`
 *   (a non-empty string or an encrypted `{ secure: "..." }` value).
 * - `.refine()` checks are dropped: the IPv4 check on data-plane addresses is put back as
 *   `format: "ipv4"`, and the webhook's URL check (lost behind its `.regex()`) as `format: "uri"`
 *   (editors may or may not check formats).
 * - The cross-field rules (one head, unique names and addresses, subnets of twins, TP x PP, the
 *   utilisation acknowledgement, ...) are not in the schema: `plan` checks them.
 * - Descriptions live as JSDoc comments in schema.ts, which zod does not see. They are read from
 *   the source with the TypeScript parser and attached to every object whose keys match an object
 *   literal there (fields without a comment get none); the sections and secret keys get short
 *   descriptions here, and docs/configuration.md is the reference.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { CONFIG_NAMESPACE, CONFIG_SECTIONS, SECRET_KEYS } from "./load";
import { clusterSchema } from "./schema";

type Json = Record<string, unknown>;

const SECTION_DESCRIPTIONS: Record<(typeof CONFIG_SECTIONS)[number], string> = {
  nodes: "The Sparks: at least two, exactly one with role head (docs/configuration.md).",
  ssh: "SSH settings shared by every node unless the node sets its own.",
  link: "The RoCEv2 data plane: MTU, GID index policy, rendezvous port.",
  image: "The vLLM image: built for sm_121 (source: build) or pulled (source: prebuilt).",
  model: "The model and its Hugging Face cache.",
  serving: "vLLM serving: profile (1m, 512k, 256k or custom), utilisation, launcher, watchdog.",
  hardening: "Host hardening: min_free_kbytes, swap, the drop-caches sidecar, the headroom alert.",
  observability: "Opt-in Prometheus, Alertmanager, Grafana and node exporters (docs/observability.md).",
};

const SECRET_DESCRIPTIONS: Record<keyof typeof SECRET_KEYS, string> = {
  hfToken: "Hugging Face token (model.hfToken): pulumi config set --secret hfToken <token>",
  apiKey: "API key of the server (serving.apiKey): pulumi config set --secret apiKey <key>",
  sshPrivateKey:
    "SSH private key for every node (ssh.privateKey): pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519",
  grafanaAdminPassword:
    "Grafana admin password (observability.grafana.adminPassword): pulumi config set --secret grafanaAdminPassword <password>",
};

const SECRET_DEF: Json = {
  description: "A secret: set it with `pulumi config set --secret`, which stores { secure: <ciphertext> }.",
  anyOf: [
    { type: "string", minLength: 1 },
    {
      type: "object",
      properties: { secure: { type: "string", description: "Ciphertext written by pulumi config set --secret" } },
      required: ["secure"],
      additionalProperties: false,
    },
  ],
};

/** Is this zod schema the secret transform (unknown -> Secret)? */
function isSecretTransform(s: unknown): boolean {
  const def = (
    s as {
      _zod?: {
        def?: {
          type?: string;
          in?: { _zod?: { def?: { type?: string } } };
          out?: { _zod?: { def?: { type?: string } } };
        };
      };
    }
  )._zod?.def;
  return def?.type === "pipe" && def.in?._zod?.def?.type === "unknown" && def.out?._zod?.def?.type === "transform";
}

/** The cluster object (what `loadClusterConfig` takes) as JSON Schema, input side. */
export function clusterJsonSchema(): Json {
  const json = z.toJSONSchema(clusterSchema, {
    io: "input",
    target: "draft-07",
    unrepresentable: "throw",
    override: (ctx) => {
      if (isSecretTransform(ctx.zodSchema)) {
        for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Json)[k];
        (ctx.jsonSchema as Json).$ref = "#/definitions/secret";
      }
    },
  }) as Json;
  delete json.$schema;
  // zod may hand back one object for a schema used in several places: copy before annotating.
  const tree = JSON.parse(JSON.stringify(json)) as Json;
  describeFields(tree, fieldDocs());
  // The refine() on addresses is not representable; say what it checks.
  const address = at(tree, [
    "properties",
    "nodes",
    "items",
    "properties",
    "dataPlane",
    "items",
    "properties",
    "address",
  ]);
  address.format = "ipv4";
  // z.url() followed by .regex() keeps only the regex; the URL check is put back as a format.
  const webhook = at(tree, ["properties", "hardening", "properties", "webhookUrl"]);
  webhook.format = "uri";
  return tree;
}

/** The JSDoc of each object literal in schema.ts, keyed by its sorted property names. */
function fieldDocs(): Map<string, Record<string, string>> {
  // Only the generator needs the TypeScript parser (a devDependency): load it here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require("typescript") as typeof import("typescript");
  const file = resolve(__dirname, "..", "..", "..", "src", "config", "schema.ts");
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const literals = new Map<string, import("typescript").ObjectLiteralExpression>();
  const all: import("typescript").ObjectLiteralExpression[] = [];
  const visit = (n: import("typescript").Node): void => {
    if (
      ts.isVariableDeclaration(n) &&
      ts.isIdentifier(n.name) &&
      n.initializer &&
      ts.isObjectLiteralExpression(n.initializer)
    ) {
      literals.set(n.name.text, n.initializer);
    }
    if (ts.isObjectLiteralExpression(n)) all.push(n);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  const docOf = (prop: import("typescript").Node): string | undefined => {
    const parts: string[] = [];
    for (const d of ts.getJSDocCommentsAndTags(prop)) {
      if (!ts.isJSDoc(d)) continue;
      const text = ts.getTextOfJSDocComment(d.comment);
      if (text) parts.push(text.replace(/\s+/g, " ").trim());
      for (const t of d.tags ?? []) {
        const c = ts.getTextOfJSDocComment(t.comment);
        if (t.tagName.text === "default" && c) parts.push(`Default: ${c.trim()}.`);
      }
    }
    return parts.length ? parts.join(" ") : undefined;
  };
  const fieldsOf = (o: import("typescript").ObjectLiteralExpression): Record<string, string | undefined> => {
    const out: Record<string, string | undefined> = {};
    for (const p of o.properties) {
      if (ts.isSpreadAssignment(p) && ts.isIdentifier(p.expression)) {
        const lit = literals.get(p.expression.text);
        if (lit) Object.assign(out, fieldsOf(lit));
      } else if ((ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && ts.isIdentifier(p.name)) {
        out[p.name.text] = docOf(p);
      }
    }
    return out;
  };
  const byKeys = new Map<string, Record<string, string>>();
  for (const o of all) {
    const fields = fieldsOf(o);
    const docs = Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
    const key = Object.keys(fields).sort().join(",");
    if (Object.keys(docs).length > 0 && !byKeys.has(key)) byKeys.set(key, docs);
  }
  return byKeys;
}

/** Put the field comments of schema.ts on the generated properties, everywhere in the tree. */
function describeFields(node: unknown, docs: Map<string, Record<string, string>>): void {
  if (Array.isArray(node)) {
    for (const n of node) describeFields(n, docs);
    return;
  }
  if (!node || typeof node !== "object") return;
  const o = node as Json;
  const props = o.properties as Record<string, Json> | undefined;
  if (props && typeof props === "object") {
    const d = docs.get(Object.keys(props).sort().join(","));
    if (d)
      for (const [k, v] of Object.entries(props))
        if (d[k] && v.description === undefined) props[k] = { description: d[k], ...v };
  }
  for (const v of Object.values(o)) describeFields(v, docs);
}

/** Follow a path of keys into the generated schema; throws when zod's output changed shape. */
function at(root: Json, path: string[]): Json {
  let cur: unknown = root;
  for (const k of path) {
    cur = (cur as Json | undefined)?.[k];
    if (!cur || typeof cur !== "object") throw new Error(`json-schema: ${path.join(".")} not found in zod's output`);
  }
  return cur as Json;
}

/** The JSON Schema of a Pulumi stack file holding a dgx-spark-vllm cluster. */
export function stackConfigJsonSchema(): Json {
  const cluster = clusterJsonSchema();
  const props = cluster.properties as Record<string, Json>;
  const config: Record<string, Json> = {};
  for (const section of CONFIG_SECTIONS) {
    const p = props[section];
    if (!p) throw new Error(`json-schema: section ${section} missing from the zod schema`);
    config[`${CONFIG_NAMESPACE}:${section}`] = { description: SECTION_DESCRIPTIONS[section], ...p };
  }
  for (const key of Object.keys(SECRET_KEYS) as (keyof typeof SECRET_KEYS)[]) {
    // In draft-07 a $ref's siblings are ignored: allOf keeps the description.
    config[`${CONFIG_NAMESPACE}:${key}`] = {
      description: SECRET_DESCRIPTIONS[key],
      allOf: [{ $ref: "#/definitions/secret" }],
    };
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "dgx-spark-vllm Pulumi stack file",
    description:
      "Pulumi.<stack>.yaml for dgx-spark-vllm. Generated from src/config/schema.ts by `npm run schema`; do not edit. " +
      "Shapes, types, patterns and ranges only: `npm run plan` also checks the cross-field rules.",
    type: "object",
    properties: {
      config: {
        type: "object",
        description: `Stack config. Keys of this project are ${CONFIG_NAMESPACE}:<key>; other namespaces (docker:, pulumi:, ...) are allowed.`,
        properties: config,
        required: [`${CONFIG_NAMESPACE}:nodes`],
        // A misspelt key of our namespace is an error (as in the loader); other namespaces pass.
        propertyNames: {
          anyOf: [{ not: { pattern: `^${CONFIG_NAMESPACE}:` } }, { enum: Object.keys(config) }],
        },
        additionalProperties: true,
      },
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      encryptionsalt: { type: "string" },
    },
    required: ["config"],
    additionalProperties: true,
    definitions: { secret: SECRET_DEF },
  };
}

/** The file's text: stable key order, two-space indent, final newline. */
export function stackConfigJsonSchemaText(): string {
  return `${JSON.stringify(stackConfigJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  const out = process.argv[2];
  if (out) writeFileSync(out, stackConfigJsonSchemaText());
  else process.stdout.write(stackConfigJsonSchemaText());
}
