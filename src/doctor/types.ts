/** How a check ended: fine, worth a look, or something that will stop Builder from working well. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One finding of `builder doctor`. */
export interface DoctorCheck {
  /** Stable id for scripts ("backend", "memory-fit", "num-gpu-as-index", …). */
  id: string;
  status: CheckStatus;
  /** What was found, with the numbers. */
  message: string;
  /** What to do about it (absent when there is nothing to do). */
  fix?: string;
  /** Machine-readable figures behind the message. */
  details?: Record<string, unknown>;
}

/** Everything `builder doctor` found. */
export interface DoctorReport {
  ok: boolean;
  counts: Record<CheckStatus, number>;
  checks: DoctorCheck[];
}

/** Builds the report, counting statuses. */
export function makeReport(checks: DoctorCheck[]): DoctorReport {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const check of checks) counts[check.status] += 1;
  return { ok: counts.fail === 0, counts, checks };
}
