/**
 * Dependency rules, checked by test/unit/dependencies.test.ts (npm test, npm run test:unit) with
 * dependency-cruiser. Type-only imports count: a cycle through types is still a cycle.
 * By hand: npx depcruise src test --config .dependency-cruiser.cjs --ignore-known
 *
 * Known violations (.dependency-cruiser-known-violations.json, made by `npx depcruise-baseline src
 * test --config .dependency-cruiser.cjs`) are ignored; the test allows only the one type-only cycle
 * that was there when the check was added: src/plan/types.ts imports the type WatchdogPlan from
 * src/plan/watchdog.ts, which imports types.ts (and access.ts, service.ts, container.ts, which
 * import types.ts). The fix is to declare WatchdogPlan in types.ts (watchdog.ts re-exporting it),
 * then empty the baseline file ([]); it waits for the move of the host scripts out of watchdog.ts.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Modules under src/ and test/ must not import each other in a circle.",
      from: { path: "^(src|test)/" },
      to: { circular: true },
    },
    {
      name: "tools-not-cli",
      severity: "error",
      comment: "Only src/cli/ imports src/cli/: tools and the library never depend on the command line.",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "src-not-test",
      severity: "error",
      comment: "The package (src/) never imports test code or test support.",
      from: { path: "^src/" },
      to: { path: "^test/" },
    },
    {
      name: "resolvable",
      severity: "error",
      comment: "Every import resolves (an unresolved one would hide its edges from the other rules).",
      from: { path: "^(src|test)/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
  },
};
