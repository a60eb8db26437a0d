import type { CheckStatus, DoctorReport } from "./types.js";

const MARK: Readonly<Record<CheckStatus, string>> = { ok: "[ok]  ", warn: "[warn]", fail: "[FAIL]" };

/** The doctor report for a terminal: one block per check, the fix under it, a summary line last. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.id.length));
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${MARK[check.status]} ${check.id.padEnd(width)}  ${check.message}`);
    if (check.fix && check.status !== "ok") lines.push(`${" ".repeat(7 + width + 2)}fix: ${check.fix}`);
  }
  const { ok, warn, fail } = report.counts;
  lines.push("", `${ok} ok, ${warn} warning${warn === 1 ? "" : "s"}, ${fail} failed`);
  return lines.join("\n") + "\n";
}
