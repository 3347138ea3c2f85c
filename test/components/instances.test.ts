/**
 * Two clusters in one program (issue #13): two DeepSeekV4Cluster from the same config, under
 * mocks. Nothing either puts on a host may carry the other's name: containers, sidecars, systemd
 * units, installed files, journal folders, the watchdog's state. Only the host-wide journal of
 * the shared settings is common, and there each step says which cluster holds what.
 */
import { recordTransformation, settle, unwrap, type Recorded } from "./support";
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { DeepSeekV4Cluster } from "../../src/components/cluster";
import { loadClusterConfig } from "../../src/config/load";
import { planCluster } from "../../src/plan/cluster";
import { ConfigError } from "../../src/config/errors";
import { SHARED_JOURNAL_DIR } from "../../src/plan/names";
import { baseConfig } from "../support/fixtures";

const { config } = loadClusterConfig(baseConfig(), "deploy");
const a = new DeepSeekV4Cluster("blue", { config }, { transformations: [recordTransformation] });
const b = new DeepSeekV4Cluster("green", { config }, { transformations: [recordTransformation] });
const ready = settle();

/** What one cluster names on its hosts, by kind, read from the inputs the engine receives. */
type Kind = "containers" | "units" | "files" | "journals" | "holders";
function hostNamesOf(all: Map<string, Recorded>, prefix: string): Record<Kind, Set<string>> {
  const out: Record<Kind, Set<string>> = {
    containers: new Set(),
    units: new Set(),
    files: new Set(),
    journals: new Set(),
    holders: new Set(),
  };
  for (const r of all.values()) {
    if (!r.name.startsWith(`${prefix}-`)) continue;
    const i = unwrap(r.inputs);
    if (r.type === "docker:index/container:Container") out.containers.add(i.name);
    for (const text of [i.create, i.delete].filter((t): t is string => typeof t === "string")) {
      for (const m of text.matchAll(/--name (\S+)/g)) out.containers.add(m[1] as string);
      for (const m of text.matchAll(/docker rm -f ([^\s$]+)/g)) out.containers.add(m[1] as string);
      for (const m of text.matchAll(/systemctl (?:enable|restart|disable)(?: --now)? ([^\s$"]+\.(?:service|timer))/g))
        out.units.add(m[1] as string);
      for (const m of text.matchAll(/\$SUDO tee (\/\S+) >\/dev\/null <<'DGX_SPARK_VLLM_EOF'/g))
        out.files.add(m[1] as string);
      for (const m of text.matchAll(/^J=(\S+)$/gm)) out.journals.add(m[1] as string);
      for (const m of text.matchAll(/^HOLDER=(\S+)$/gm)) out.holders.add(m[1] as string);
      for (const m of text.matchAll(/install -d -m 0750 -o \S+ (\S+)/g)) out.files.add(m[1] as string);
    }
  }
  return out;
}

test("two clusters from one config in one program share no container, unit, file or journal", async () => {
  const all = await ready;
  const x = hostNamesOf(all, "blue");
  const y = hostNamesOf(all, "green");
  for (const kind of ["containers", "units", "files"] as const) {
    const mine = x[kind] as Set<string>;
    const theirs = y[kind] as Set<string>;
    assert.ok(mine.size > 0 && theirs.size > 0, `${kind} found`);
    const both = [...mine].filter((n) => theirs.has(n) && !SHARED_FILES.has(n));
    assert.deepEqual(both, [], `${kind} used by both clusters`);
  }
  // what the counting found: each cluster's two ranks and two sidecars, its three units per node
  assert.deepEqual([...(x.containers as Set<string>)].sort(), [
    "dgx-spark-vllm-blue-drop-caches-spark-head",
    "dgx-spark-vllm-blue-drop-caches-spark-worker",
    "dgx-spark-vllm-blue-spark-head",
    "dgx-spark-vllm-blue-spark-worker",
  ]);
  assert.deepEqual([...(y.units as Set<string>)].sort(), [
    "dgx-spark-vllm-green-link.service",
    "dgx-spark-vllm-green-uma-headroom.timer",
    "dgx-spark-vllm-green-watchdog.service",
  ]);
  // journals: each its own, and the host-wide one for the shared settings
  assert.deepEqual([...(x.journals as Set<string>)].sort(), [
    "/var/lib/dgx-spark-vllm-blue/journal",
    SHARED_JOURNAL_DIR,
  ]);
  assert.deepEqual([...(y.journals as Set<string>)].sort(), [
    "/var/lib/dgx-spark-vllm-green/journal",
    SHARED_JOURNAL_DIR,
  ]);
  assert.deepEqual([...(x.holders as Set<string>)], ["dgx-spark-vllm-blue"]);
  assert.deepEqual([...(y.holders as Set<string>)], ["dgx-spark-vllm-green"]);
  assert.equal(a.plan.watchdog.stateDir, "/var/lib/dgx-spark-vllm-blue/watchdog");
  assert.notEqual(a.plan.watchdog.bin, b.plan.watchdog.bin);
});

/** Files that are one per host by nature: written by both, put back by the last holder (src/host/journal.sh). */
const SHARED_FILES = new Set(["/etc/sysctl.d/90-dgx-spark-vllm.conf", "/etc/netplan/60-dgx-spark-vllm.yaml"]);

test("every step that writes a shared file or setting records its holder in the host-wide journal", async () => {
  const all = await ready;
  for (const r of all.values()) {
    if (!r.name.startsWith("blue-")) continue;
    const i = unwrap(r.inputs);
    if (typeof i.create !== "string") continue;
    const shared =
      [...SHARED_FILES].some((f) => i.create.includes(`tee ${f}`)) ||
      // the swap and min_free_kbytes records, the cache folders, the image tag, a netdev
      /"\$J\/(swaps|vm\.min_free_kbytes|created-dirs)"|"\$J"\/(image|'link)%/.test(i.create);
    if (!shared) continue;
    assert.ok(/^J=\/var\/lib\/dgx-spark-vllm\/journal$/m.test(i.create), `${r.name} records in the host-wide journal`);
    assert.match(i.create, /^hold \S+$/m, `${r.name} holds what it changes`);
    assert.match(i.delete, /if release \S+(;| &&)/, `${r.name} restores only as the last holder`);
  }
});

test("without an instance name the plain names stay; a name that cannot name files is a config error", () => {
  const plain = planCluster(config);
  assert.equal(plain.nodes[0]?.container.name, "dgx-spark-vllm-spark-head");
  assert.equal(plain.names.linkUnit, "dgx-spark-vllm-link");
  assert.equal(plain.names.journal, SHARED_JOURNAL_DIR);
  assert.throws(
    () => planCluster(config, [], { instance: "Blue Team" }),
    (e: unknown) => e instanceof ConfigError && /instance: instance name 'Blue Team' cannot name/.test(e.message),
  );
  assert.throws(() => new DeepSeekV4Cluster("My_Cluster", { config }), /cannot name containers, units and files/);
});
