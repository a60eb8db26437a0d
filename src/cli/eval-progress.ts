import { Presets, SingleBar } from "cli-progress";
import type { EvalRow } from "../eval/results.js";
import { getLogger } from "../telemetry/logger.js";

/** Shows an eval's progress: a bar on a terminal, one log line per case otherwise (pipes, CI). */
export interface EvalProgress {
  start(toRun: number, alreadyDone: number): void;
  row(row: EvalRow): void;
  stop(): void;
}

/** The progress display for one eval run (stderr only). */
export function createEvalProgress(showBar: boolean): EvalProgress {
  const logger = getLogger();
  let bar: SingleBar | undefined;
  let passed = 0;
  let seen = 0;
  let total = 0;
  return {
    start(toRun, alreadyDone) {
      total = toRun;
      if (alreadyDone > 0)
        logger.info(
          { resumed: alreadyDone, to_run: toRun },
          `resuming: ${alreadyDone} case(s) already in the results file`,
        );
      if (!showBar || toRun === 0) return;
      bar = new SingleBar(
        {
          format: "eval [{bar}] {value}/{total} cases | {passed} passed | {case}",
          stream: process.stderr,
          hideCursor: true,
        },
        Presets.shades_classic,
      );
      bar.start(toRun, 0, { passed: 0, case: "" });
    },
    row(row) {
      seen++;
      if (row.passed) passed++;
      if (bar) bar.update(seen, { passed, case: row.case_id });
      else
        logger.info(
          {
            case: row.case_id,
            passed: row.passed,
            stopped_at: row.stopped_at,
            verdict: row.verdict,
            case_ms: row.case_ms,
            done: seen,
            of: total,
          },
          "eval case finished",
        );
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
