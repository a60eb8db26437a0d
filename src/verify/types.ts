/** The checks verification runs, in this order ("paths" fails only when an answer names a path Builder will not write). */
export type CheckName = "paths" | "typecheck" | "rules" | "tests" | "lint" | "edits";

/** How one check ended, with what a person or a model needs to fix it. */
export interface CheckResult {
  name: CheckName;
  status: "passed" | "failed" | "skipped";
  durationMs: number;
  /** Every problem found, one line each ("src/a.ts:3:7 TS2322 …"); reports keep the first few. */
  diagnostics: string[];
  /** One line: what was checked, or why the check was skipped. */
  summary: string;
  /** Things worth knowing that are not failures (a file outside tsconfig.json, …). */
  notes: string[];
}

/** Formats a located problem as one line. */
export function formatDiagnostic(d: {
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}): string {
  const where = d.file === "" ? "(project)" : `${d.file}:${d.line}:${d.column}`;
  return `${where} ${d.code} ${d.message}`;
}
