import { Presets, SingleBar } from "cli-progress";
import type { LoadProgressListener } from "../backends/embedded/load-progress.js";
import { logFormatFromEnv } from "../telemetry/logger.js";
import { defaultLogFormat } from "../telemetry/pretty-log.js";

/**
 * Whether to draw load and calibration bars: only on a terminal, and never when log lines are JSON
 * (a program reads them; a bar's carriage returns would garble them).
 */
export function shouldDrawLoadProgress(stderr: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const tty = stderr.isTTY === true;
  return tty && (logFormatFromEnv(env) ?? defaultLogFormat(tty)) !== "json";
}

/** Bars on `stream` (stderr) for the model load, then for the thread calibration; removed when loading ends. */
export function createLoadProgressBars(stream: NodeJS.WritableStream): LoadProgressListener {
  let current: { bar: SingleBar; kind: "load" | "calibration" } | undefined;
  const show = (kind: "load" | "calibration", total: number, format: string): SingleBar => {
    if (current?.kind === kind) return current.bar;
    current?.bar.stop();
    const bar = new SingleBar({ format, stream, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
    bar.start(total, 0);
    current = { bar, kind };
    return bar;
  };
  return {
    onModelLoad(fraction) {
      show("load", 100, "loading model [{bar}] {percentage}%").update(Math.round(fraction * 100));
    },
    onCalibration(done, total) {
      show("calibration", total, "measuring thread counts (once per machine and model) [{bar}] {value}/{total}").update(
        done,
      );
    },
    onDone() {
      current?.bar.stop();
      current = undefined;
    },
  };
}
