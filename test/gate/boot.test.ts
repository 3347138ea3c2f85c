import assert from "node:assert/strict";
import { test } from "node:test";
import { bootGate } from "../../src/gate/boot";
import { securityGate } from "../../src/gate/security";
import { closedPort, withStandin } from "../bench/support";

const expect1m = { servedName: "deepseek-v4", maxModelLen: 1_000_000, timeoutMs: 0 };

test("boot passes when /health is 200 and /v1/models has the served name with the profile's max_model_len", async () => {
  await withStandin({}, async (s) => {
    const r = await bootGate({ endpoint: s.url, ...expect1m });
    assert.equal(r.status, "pass", r.problems.join("; "));
    assert.equal(r.details.maxModelLen, 1_000_000);
  });
});

test("boot fails on a wrong max_model_len, naming both values", async () => {
  await withStandin({ maxModelLen: 262_144 }, async (s) => {
    const r = await bootGate({ endpoint: s.url, ...expect1m });
    assert.equal(r.status, "fail");
    assert.match(r.problems.join("\n"), /max_model_len is 262144, the profile expects 1000000/);
  });
});

test("boot fails when the served name is missing, listing what is served", async () => {
  await withStandin({ servedName: "other-model" }, async (s) => {
    const r = await bootGate({ endpoint: s.url, ...expect1m });
    assert.equal(r.status, "fail");
    assert.match(r.problems.join("\n"), /does not list 'deepseek-v4' \(it lists: other-model\)/);
  });
});

test("boot fails on an unhealthy or absent server, and waits for one that comes up within the timeout", async () => {
  await withStandin({ healthStatus: 503 }, async (s) => {
    const r = await bootGate({ endpoint: s.url, ...expect1m });
    assert.equal(r.status, "fail");
    assert.match(r.problems.join("\n"), /\/health answered HTTP 503/);
    setTimeout(() => {
      s.options.healthStatus = 200;
    }, 250);
    const waited = await bootGate({ endpoint: s.url, ...expect1m, timeoutMs: 3000, pollIntervalMs: 50 });
    assert.equal(waited.status, "pass", waited.problems.join("; "));
    assert.ok((waited.details.healthAttempts as number) > 1);
  });
  const t0 = Date.now();
  const down = await bootGate({
    endpoint: `http://127.0.0.1:${await closedPort()}`,
    ...expect1m,
    timeoutMs: 300,
    pollIntervalMs: 50,
  });
  assert.equal(down.status, "fail");
  assert.match(down.problems.join("\n"), /connection refused.*after waiting/);
  assert.ok(Date.now() - t0 < 2000);
});

test("boot reports a 401 on /v1/models as a missing key", async () => {
  await withStandin({ apiKey: "k" }, async (s) => {
    const r = await bootGate({ endpoint: s.url, ...expect1m });
    assert.equal(r.status, "fail");
    assert.match(r.problems.join("\n"), /401.*--api-key-env/);
    assert.equal((await bootGate({ endpoint: s.url, ...expect1m, apiKey: "k" })).status, "pass");
  });
});

test("security: refused without the key passes; a server that answers anyone fails; no key configured skips", async () => {
  await withStandin({ apiKey: "k" }, async (s) => {
    const r = await securityGate({ endpoint: s.url, apiKey: "k", model: "deepseek-v4", timeoutMs: 2000 });
    assert.equal(r.status, "pass", r.problems.join("; "));
    const anon = s.requests.filter((q) => !q.authHeader);
    assert.ok(
      anon.some((q) => q.path === "/v1/models") && anon.some((q) => q.path === "/v1/chat/completions"),
      "both probes went without a key",
    );
    const wrong = await securityGate({ endpoint: s.url, apiKey: "nope", model: "deepseek-v4", timeoutMs: 2000 });
    assert.equal(wrong.status, "fail");
    assert.match(wrong.problems.join("\n"), /with the configured key failed.*wrong key/);
  });
  await withStandin({ apiKey: "k", acceptWithoutKey: true }, async (s) => {
    const r = await securityGate({ endpoint: s.url, apiKey: "k", model: "deepseek-v4", timeoutMs: 2000 });
    assert.equal(r.status, "fail");
    assert.match(r.problems.join("\n"), /without an API key answered HTTP 200: anyone/);
  });
  await withStandin({}, async (s) => {
    const r = await securityGate({ endpoint: s.url, model: "deepseek-v4", timeoutMs: 2000 });
    assert.equal(r.status, "skip");
    assert.match(r.notes.join("\n"), /no API key was given/);
    assert.equal(s.requests.length, 0, "a skipped check sends nothing");
  });
});
