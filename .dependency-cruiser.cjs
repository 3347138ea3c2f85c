/**
 * Dependency rules, checked by test/repo/dependencies.test.ts (npm test, npm run test:unit) with
 * dependency-cruiser. Type-only imports count: a cycle through types is still a cycle.
 * By hand: npm run check:deps. There is no baseline of known violations: the tree has none.
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
