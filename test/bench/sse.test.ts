import assert from "node:assert/strict";
import { test } from "node:test";
import { SseParser } from "../../src/bench/sse";
import { leastSquares, percentile } from "../../src/bench/stats";

const STREAM = 'data: {"a":1}\n\n: keep-alive comment\n\ndata: {"b":\ndata: 2}\r\n\r\nevent: ping\ndata: [DONE]\n\n';

test("SSE events survive any split of the byte stream", () => {
  const expected = ['{"a":1}', '{"b":\n2}', "[DONE]"];
  for (let step = 1; step <= STREAM.length; step++) {
    const got: string[] = [];
    const p = new SseParser((d) => got.push(d));
    for (let i = 0; i < STREAM.length; i += step) p.push(STREAM.slice(i, i + step));
    p.end();
    assert.deepEqual(got, expected, `split every ${step} chars`);
  }
});

test("an event without its closing blank line is delivered at end of input, not before", () => {
  const got: string[] = [];
  const p = new SseParser((d) => got.push(d));
  p.push('data: {"x":1}');
  assert.deepEqual(got, []);
  p.end();
  assert.deepEqual(got, ['{"x":1}']);
});

test("percentile interpolates and handles edge cases", () => {
  assert.equal(percentile([], 50), Number.NaN);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0), 1);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 100), 10);
  assert.ok(
    Math.abs(
      percentile(
        Array.from({ length: 101 }, (_, i) => i),
        99,
      ) - 99,
    ) < 1e-9,
  );
});

test("least squares recovers a known slope through noise-free and noisy points", () => {
  const exact = Array.from({ length: 10 }, (_, i) => ({ x: i, y: 5 - 2.5 * i }));
  assert.ok(Math.abs(leastSquares(exact).slope + 2.5) < 1e-12);
  assert.ok(Math.abs(leastSquares(exact).intercept - 5) < 1e-12);
  const noisy = Array.from({ length: 200 }, (_, i) => ({ x: i, y: 3 * i + (i % 2 === 0 ? 1 : -1) }));
  assert.ok(Math.abs(leastSquares(noisy).slope - 3) < 0.01);
  assert.ok(Number.isNaN(leastSquares([{ x: 1, y: 1 }]).slope));
  assert.ok(
    Number.isNaN(
      leastSquares([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
      ]).slope,
    ),
  );
});
