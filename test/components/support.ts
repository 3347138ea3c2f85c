/**
 * Pulumi mocks for the component tests. Import this module FIRST (it sets the mocks), then the
 * components. Every registered resource is recorded with its type, name, inputs (as the engine
 * would receive them: secrets stay wrapped), parent and dependsOn; an unknown call throws.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface Recorded {
  type: string;
  name: string;
  parent?: string;
  dependsOn: string[];
  inputs: Record<string, any>;
  provider?: string;
}

export const recorded = new Map<string, Recorded>();
/** Inputs of every resource the mocks saw, by name (also those created without the recording transformation). */
export const inputsByName = new Map<string, Record<string, any>>();

/** The same image ID on every node unless a test overrides it. */
export const imageIds: Record<string, string> = {};

pulumi.runtime.setMocks(
  {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
      inputsByName.set(args.name, args.inputs);
      const state: Record<string, any> = { ...args.inputs };
      if (args.type === "command:remote:Command") {
        const m = /-(spark-[a-z0-9-]+)-image-id$/.exec(args.name);
        state.stdout = m ? `${imageIds[m[1] as string] ?? "sha256:1111"}\n` : "ok\n";
        state.stderr = "";
      }
      if (args.type === "docker:index/image:Image") state.repoDigest = "";
      return { id: `${args.name}-id`, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
      throw new Error(`unexpected call ${args.token} in a component test`);
    },
  },
  "dgx-spark-vllm",
  "test",
  false,
);

/**
 * Inputs exactly as the SDK sends them to the engine (the RegisterResource request), by name. The
 * mocks' own `inputs` are deserialized, which lifts a secret inside a list to the whole list; these
 * keep each secret where the program put it (what a preview diffs and displays).
 */
export const wireInputsByName = new Map<string, Record<string, any>>();
/** The provider reference (`<urn>::<id>`) each resource was registered with, by name ("" for the default). */
export const wireProviderByName = new Map<string, string>();
{
  interface Req {
    getName(): string;
    getProvider(): string;
    getObject(): { toJavaScript(): Record<string, any> };
  }
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: Req, cb: unknown) => unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    wireInputsByName.set(req.getName(), req.getObject().toJavaScript());
    wireProviderByName.set(req.getName(), req.getProvider());
    return register(req, cb);
  };
}

const nameOf = (r: unknown): string => String((r as { __name?: string }).__name);

/** A transformation recording parent and dependsOn of every resource below the component. */
export const recordTransformation: pulumi.ResourceTransformation = (a) => {
  const deps = a.opts.dependsOn;
  const list = Array.isArray(deps) ? deps : deps ? [deps] : [];
  recorded.set(a.name, {
    type: a.type,
    name: a.name,
    ...(a.opts.parent ? { parent: nameOf(a.opts.parent) } : {}),
    dependsOn: (list as unknown[]).map(nameOf),
    inputs: {},
    ...((a.opts as pulumi.CustomResourceOptions).provider
      ? { provider: nameOf((a.opts as pulumi.CustomResourceOptions).provider) }
      : {}),
  });
  return undefined;
};

/** Wait for every registration to reach the mocks, then attach the inputs to the records. */
export async function settle(): Promise<Map<string, Recorded>> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
  for (const [name, rec] of recorded) rec.inputs = inputsByName.get(name) ?? {};
  return recorded;
}

export function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) =>
    o.apply((v) => {
      resolve(v);
      return v;
    }),
  );
}

/** Unwrap secret markers (for comparing values); `isSecret` tells whether a value is wrapped. */
export function isSecret(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}
export function unwrap(v: any): any {
  if (isSecret(v)) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

/** Every string in a value, with whether it sits inside a secret. */
export function strings(
  v: any,
  inSecret = false,
  out: { s: string; secret: boolean; path: string }[] = [],
  p = "",
): { s: string; secret: boolean; path: string }[] {
  if (isSecret(v)) return strings(v.value, true, out, p);
  if (typeof v === "string") out.push({ s: v, secret: inSecret, path: p });
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, inSecret, out, `${p}[${i}]`));
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) strings(x, inSecret, out, p ? `${p}.${k}` : k);
  return out;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
