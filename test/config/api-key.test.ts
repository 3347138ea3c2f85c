/**
 * serving.apiKey is the engine's only guard: a short, made-up or unsendable key is a config error
 * that names the path, says how to make a good key, and never shows the key.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { ConfigError, loadClusterConfig } from "../../src/config";
import { baseConfig } from "../support/fixtures";

function problemsFor(key: string): { path: string; message: string }[] {
  const c = baseConfig();
  c.serving.apiKey = key;
  try {
    loadClusterConfig(c);
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    if (key.length >= 8) assert.ok(!e.message.includes(key), "the error never shows the key");
    return [...e.problems];
  }
}

const BAD: [what: string, key: string, message: RegExp][] = [
  ["one character", "k", /is 1 characters, shorter than 32/],
  ["31 random characters", randomBytes(16).toString("hex").slice(0, 31), /is 31 characters, shorter than 32/],
  ["a placeholder", "changeme-changeme-changeme-changeme-42", /looks like a placeholder \(it contains "changeme"\)/],
  ["the docs' own words", "your-api-key-goes-here-0123456789abcdef", /placeholder \(it contains "your-api-key"\)/],
  ["one character repeated", "a".repeat(48), /uses only 1 different characters/],
  ["a space inside", `${randomBytes(20).toString("hex")} x`, /characters a bearer token cannot carry/],
  ["a quote inside", `${randomBytes(20).toString("hex")}'`, /characters a bearer token cannot carry/],
];

describe("serving.apiKey", () => {
  for (const [what, key, message] of BAD) {
    it(`refuses ${what}, naming serving.apiKey and how to make a key`, () => {
      const p = problemsFor(key).filter((x) => x.path === "serving.apiKey");
      assert.equal(p.length, 1, JSON.stringify(problemsFor(key)));
      assert.match(p[0]!.message, message);
      assert.match(p[0]!.message, /openssl rand -hex 24/);
    });
  }

  it("takes what the README's command makes (openssl rand -hex 24) and a base64 key", () => {
    assert.deepEqual(problemsFor(randomBytes(24).toString("hex")), []);
    assert.deepEqual(problemsFor(randomBytes(33).toString("base64")), []);
    assert.deepEqual(problemsFor(randomBytes(24).toString("base64url")), []);
  });
});
