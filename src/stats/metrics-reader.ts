import { existsSync } from "node:fs";
import { forEachLine } from "../workspace/jsonl.js";

/**
 * One line of `.builder/metrics.jsonl` as read back: every field optional, because old lines lack
 * newer fields (verdict, repair_rounds) and newer writers may add fields this version ignores.
 */
export interface MetricsRecord {
  timestamp?: string;
  task_id?: string;
  backend?: string;
  model?: string;
  load_ms?: number;
  prompt_tokens?: number;
  prompt_ms?: number | null;
  time_to_first_token_ms?: number | null;
  generated_tokens?: number;
  tokens_per_sec?: number | null;
  total_ms?: number;
  success?: boolean;
  error?: string | null;
  verdict?: string;
  repair_rounds?: number;
  cached_prefix_tokens?: number;
  draft_tokens_validated?: number;
  draft_tokens_refuted?: number;
}

/** A time window; either end may be open. */
export interface Period {
  since?: Date;
  until?: Date;
}

/** What a scan read. */
export interface ScanSummary {
  /** Non-empty lines. */
  lines: number;
  /** Lines handed to the visitor (inside the period). */
  used: number;
  /** Lines that were not a JSON object (a crash mid-write, a hand edit). */
  skipped: number;
  /** Run lines outside the period. */
  outsidePeriod: number;
}

/**
 * Streams a metrics file line by line (never the whole file in memory) and calls `visit` for each
 * run record inside the period. A missing file reads as empty.
 */
export async function scanMetrics(
  filePath: string,
  period: Period,
  visit: (record: MetricsRecord) => void,
): Promise<ScanSummary> {
  const summary: ScanSummary = { lines: 0, used: 0, skipped: 0, outsidePeriod: 0 };
  if (!existsSync(filePath)) return summary;
  const since = period.since?.getTime();
  const until = period.until?.getTime();
  await forEachLine(filePath, (line) => {
    if (line.length === 0) return;
    summary.lines += 1;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      summary.skipped += 1;
      return;
    }
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      summary.skipped += 1;
      return;
    }
    const run = record as MetricsRecord & { event?: unknown };
    if (run.event !== undefined && run.event !== "run") return;
    if (since !== undefined || until !== undefined) {
      const at = typeof run.timestamp === "string" ? Date.parse(run.timestamp) : NaN;
      if (Number.isNaN(at) || (since !== undefined && at < since) || (until !== undefined && at > until)) {
        summary.outsidePeriod += 1;
        return;
      }
    }
    summary.used += 1;
    visit(run);
  });
  return summary;
}

/** Numbers only: anything else (null, a string from a hand edit) counts as missing. */
export function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
