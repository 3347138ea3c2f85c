/**
 * The series the observability plan's dashboard panels and alert rules read, from their PromQL
 * (test support, shared by the loopback test and the simulated-host rehearsal so the list exists
 * once: it is derived from the plan, never written down).
 */
import type { ObservabilityPlan } from "../../src/plan/observability";

/** Identifiers in a PromQL expression that name series (not functions, labels, keywords or numbers). */
export function seriesNames(expr: string): string[] {
  const stripped = expr
    .replace(/"[^"]*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without"]);
  const out = new Set<string>();
  for (const m of stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const name = m[1] as string;
    if (m[2] || KEYWORDS.has(name)) continue;
    out.add(name);
  }
  return [...out];
}

/** Every series name a rule or a panel of the plan reads, sorted. */
export function planSeries(o: ObservabilityPlan): string[] {
  const names = new Set<string>();
  for (const r of o.alerts) for (const n of seriesNames(r.expr)) names.add(n);
  for (const p of o.panels) for (const t of p.targets) for (const n of seriesNames(t.expr)) names.add(n);
  return [...names].sort();
}
