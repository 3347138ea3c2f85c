/**
 * Observability images pinned by tag alone are a plan warning (issue #16 asks for tag and digest;
 * the defaults are tags because no registry is reachable here to read their digests).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planFromInput } from "../../src/plan/cluster";
import { baseConfig } from "../support/fixtures";

const DIGEST = `sha256:${"a".repeat(64)}`;
const warningsOf = (observability: unknown) => {
  const c = baseConfig();
  c.observability = observability;
  c.observability.grafana = { ...(c.observability.grafana ?? {}), adminPassword: "pw-for-tests" };
  return planFromInput(c).warnings.filter((w) => w.path === "observability");
};

describe("observability images on a tag alone", () => {
  it("the defaults: one warning naming every unpinned image and how to pin it", () => {
    const [w, ...more] = warningsOf({ enabled: true });
    assert.equal(more.length, 0);
    assert.ok(w);
    for (const name of [
      "prometheus.image prom/prometheus:",
      "alertmanager.image prom/alertmanager:",
      "grafana.image grafana/grafana:",
      "nodeExporter.image prom/node-exporter:",
    ]) {
      assert.ok(w.message.includes(name), `${name} in: ${w.message}`);
    }
    assert.match(w.message, /name:tag@sha256:<digest>/);
  });
  it("only the images left on a tag are named; all pinned: no warning", () => {
    const pinned = (image: string) => ({ image: `${image}@${DIGEST}` });
    const [w] = warningsOf({
      enabled: true,
      prometheus: pinned("prom/prometheus:v2.53.3"),
      alertmanager: pinned("prom/alertmanager:v0.27.0"),
      grafana: pinned("grafana/grafana:11.2.0"),
    });
    assert.ok(w);
    assert.match(w.message, /images on a tag alone: nodeExporter\.image prom\/node-exporter:v1\.8\.2;/);
    assert.deepEqual(
      warningsOf({
        enabled: true,
        prometheus: pinned("prom/prometheus:v2.53.3"),
        alertmanager: pinned("prom/alertmanager:v0.27.0"),
        grafana: pinned("grafana/grafana:11.2.0"),
        nodeExporter: pinned("prom/node-exporter:v1.8.2"),
      }),
      [],
    );
  });
  it("observability off: nothing to pin, no warning", () => {
    assert.deepEqual(warningsOf({ enabled: false }), []);
  });
});
