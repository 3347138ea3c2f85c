// Thin runner for the bench self-test; the logic is src/bench/selftest.ts, compiled to dist/.
// Build first (`npx tsc -p .`), then: `node scripts/bench-selftest.ts [--json]` (Node >= 22.18 strips
// the types), or equivalently `node dist/src/bench/selftest.js [--json]`.
const selftest = require("../dist/src/bench/selftest.js") as { main(argv: readonly string[]): Promise<number> };

selftest.main(process.argv.slice(2)).then((code: number) => {
  process.exitCode = code;
});
