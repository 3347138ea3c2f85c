/** Shapes of the validation gate's results (RECIPE "Validation gates"). */

export type CheckName = "boot" | "mtp" | "soak" | "quality" | "security" | "needle" | "logs";
export const CHECK_NAMES: readonly CheckName[] = ["boot", "mtp", "soak", "quality", "security", "needle", "logs"];

/** "inconclusive": the check ran but its data cannot support a verdict (e.g. a soak too short to tell a leak from noise). */
export type CheckStatus = "pass" | "fail" | "skip" | "inconclusive";

export interface CheckResult {
  readonly name: CheckName;
  readonly status: CheckStatus;
  /** One line for people. */
  readonly summary: string;
  /** Why it failed, one sentence each (empty on pass). */
  readonly problems: readonly string[];
  /** Anything worth knowing that is not a failure (skips, assumptions). */
  readonly notes: readonly string[];
  readonly durationMs: number;
  /** Measured figures, check-specific. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface GateReport {
  readonly schemaVersion: 1;
  readonly kind: "dgx-spark-vllm.gate";
  readonly endpoint: string;
  readonly servedName: string;
  readonly maxModelLen: number;
  /** Where the expectations came from (a stack file, a config file, or flags). */
  readonly expectations: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** No check failed. */
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

/** Build a result: failed when there are problems, unless `status` says otherwise. */
export function result(
  name: CheckName,
  t0: number,
  parts: {
    summary: string;
    problems?: readonly string[];
    notes?: readonly string[];
    details?: Record<string, unknown>;
    status?: CheckStatus;
  },
): CheckResult {
  const problems = parts.problems ?? [];
  return {
    name,
    status: parts.status ?? (problems.length > 0 ? "fail" : "pass"),
    summary: parts.summary,
    problems,
    notes: parts.notes ?? [],
    durationMs: Math.round(performance.now() - t0),
    details: parts.details ?? {},
  };
}
