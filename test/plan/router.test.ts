/**
 * serving.router: vLLM's router in front of the replicas, as the config takes it and the plan
 * gives it (the real router runs in test/router). Bad combinations are refused with their paths
 * and what to do; a router in front of one replica is a warning.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadClusterConfig, readStackFile } from "../../src/config";
import { planDeploymentFromInput } from "../../src/plan";
import { routerSecretsStdin } from "../../src/plan/router";
import { baseConfig } from "../support/fixtures";
import { ROOT } from "../support/rendered";

const KEY = "sk-router-plan-test-91c4e7a2b6d8f03";
const stack = (router: Record<string, unknown> = { enabled: true }) => {
  const c = readStackFile(join(ROOT, "stacks", "Pulumi.2x2-replicas.yaml")) as Record<string, any>;
  c.serving.router = router;
  c.serving.apiKey = KEY;
  return c;
};

function problems(c: unknown): readonly { path: string; message: string }[] {
  try {
    planDeploymentFromInput(c);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail("expected the config to be refused");
}

describe("serving.router in the plan", () => {
  it("runs on the first replica's head by default, policy cache_aware, in front of every replica's endpoint", () => {
    const s = planDeploymentFromInput(stack()).router!.service!;
    assert.equal(s.node, "spark-a1");
    assert.equal(s.endpoint, "http://spark-a1.local:8080/v1");
    assert.deepEqual(s.workers, ["http://spark-a1.local:8000", "http://spark-b1.local:8000"]);
    const at = (f: string) => s.argv[s.argv.indexOf(f) + 1];
    assert.equal(at("--policy"), "cache_aware");
    assert.equal(at("--port"), "8080");
    assert.equal(at("--prometheus-port"), "29000");
    assert.equal(at("--health-check-endpoint"), "/health");
    assert.deepEqual(s.argv.slice(s.argv.indexOf("--worker-urls") + 1, s.argv.indexOf("--worker-urls") + 3), s.workers);
    assert.deepEqual(
      s.steps.map((x) => x.id),
      ["router-venv", "router-secrets", "router-unit"],
    );
    assert.match(s.unit.text, /^Restart=always$/m);
    assert.match(s.unit.text, new RegExp(`^EnvironmentFile=${s.secretsFile}$`, "m"));
  });

  it("the key is in no argv, unit, script or plan output: the unit reads the root-only file", () => {
    const d = planDeploymentFromInput(stack());
    assert.ok(!JSON.stringify(d).includes(KEY), "the key is not in the plan (the JSON `plan --json` prints)");
    const s = d.router!.service!;
    const secrets = s.steps.find((x) => x.id === "router-secrets")!;
    // The containers' secrets-file mechanism (test/host/router.test.ts runs it): same root, journal, stdin.
    assert.equal(s.secretsFile, "/var/lib/dgx-spark-vllm/secrets/dgx-spark-vllm-router.service/secrets.env");
    assert.match(secrets.create, /^SECRET_NAMES=\(VLLM_API_KEY\)$/m);
    assert.match(secrets.create, /^secrets_file_write$/m);
    assert.match(secrets.delete, /^secrets_file_remove$/m);
    assert.equal(routerSecretsStdin(KEY), `${KEY}\n`);
    // systemd's EnvironmentFile= would read a quote inside the value differently: refused, the key not in the message.
    assert.throws(
      () => routerSecretsStdin("sk-it's"),
      (e: Error) => /single quote/.test(e.message) && !e.message.includes("sk-it's"),
    );
  });

  it("node, policy and ports as set; an unauthenticated cluster has no secrets step", () => {
    const c = stack({ enabled: true, node: "spark-b2", policy: "round_robin", port: 9000, metricsPort: 9001 });
    c.serving.allowUnauthenticated = true;
    delete c.serving.apiKey;
    const s = planDeploymentFromInput(c).router!.service!;
    assert.equal(s.endpoint, "http://spark-b2.local:9000/v1");
    assert.equal(s.argv[s.argv.indexOf("--policy") + 1], "round_robin");
    assert.equal(s.secretsFile, undefined);
    assert.ok(!s.unit.text.includes("EnvironmentFile"));
    assert.deepEqual(
      s.steps.map((x) => x.id),
      ["router-venv", "router-unit"],
    );
  });

  it("off by default: the plan names the endpoints and points at serving.router", () => {
    const d = planDeploymentFromInput(stack({}));
    assert.equal(d.router!.service, undefined);
    assert.match(d.router!.note, /serving\.router\.enabled/);
  });
});

describe("serving.router combinations that cannot work", () => {
  it("a port the engine already uses on the router's node is an error naming both and what to do", () => {
    const p = problems(stack({ enabled: true, port: 8000 }));
    assert.ok(
      p.some(
        (x) =>
          x.path === "serving.router.port" &&
          /already used by serving\.port \(the engine's API\) on spark-a1: pick another port for the router/.test(
            x.message,
          ),
      ),
      JSON.stringify(p),
    );
  });
  it("a port observability uses on the head, or the rendezvous port, is an error", () => {
    const c = stack({ enabled: true, port: 3000, metricsPort: 29501 });
    c.observability = { enabled: true, grafana: { adminPassword: "pw" } };
    const p = problems(c);
    assert.ok(p.some((x) => x.path === "serving.router.port" && /observability\.grafana\.port/.test(x.message)));
    assert.ok(p.some((x) => x.path === "serving.router.metricsPort" && /link\.masterPort/.test(x.message)));
  });
  it("the same port for the router and its metrics is an error", () => {
    const p = problems(stack({ enabled: true, port: 9000, metricsPort: 9000 }));
    assert.ok(p.some((x) => x.path === "serving.router.metricsPort" && /serving\.router\.port/.test(x.message)));
  });
  it("on a worker node the engine's port is free (it listens on heads)", () => {
    const d = planDeploymentFromInput(stack({ enabled: true, node: "spark-a2", port: 8000 }));
    assert.equal(d.router!.service!.endpoint, "http://spark-a2.local:8000/v1");
  });
  it("a node that does not exist, and an unknown policy", () => {
    const p = problems(stack({ enabled: true, node: "spark-z9" }));
    assert.ok(
      p.some((x) => x.path === "serving.router.node" && /not a node: use one of spark-a1, spark-a2/.test(x.message)),
      JSON.stringify(p),
    );
    const q = problems(stack({ enabled: true, policy: "fastest" }));
    assert.ok(
      q.some((x) => x.path === "serving.router.policy" && /must be one of cache_aware, round_robin/.test(x.message)),
      JSON.stringify(q),
    );
  });
  it("cache_aware without --enable-scale-out on the engines is a warning (no token ids: one replica gets nearly everything)", () => {
    const { warnings } = loadClusterConfig(stack(), "plan");
    assert.ok(warnings.some((w) => w.path === "serving.router.policy" && /--enable-scale-out/.test(w.message)));
    const c = stack();
    c.serving.extraArgs = ["--enable-scale-out"];
    assert.ok(!loadClusterConfig(c, "plan").warnings.some((w) => w.path === "serving.router.policy"));
    assert.ok(
      !loadClusterConfig(stack({ enabled: true, policy: "round_robin" }), "plan").warnings.some(
        (w) => w.path === "serving.router.policy",
      ),
    );
  });
  it("a router in front of one replica is a warning, and the plan still has it", () => {
    const c = baseConfig();
    c.serving.apiKey = KEY;
    c.serving.router = { enabled: true };
    const { warnings } = loadClusterConfig(c, "plan");
    assert.ok(warnings.some((w) => w.path === "serving.router.enabled" && /serving\.replicas 1/.test(w.message)));
    assert.equal(planDeploymentFromInput(c).router!.service!.workers.length, 1);
  });
});
