import { Presets, SingleBar } from "cli-progress";
import type { RunEvent } from "../agent/events.js";

let drawing = false;

/** Set once by the CLI with the same rule as the load bars (a terminal, not --quiet, not JSON logs). */
export function setDrawRunProgress(draw: boolean): void {
  drawing = draw;
}

/** Whether `builder run` draws the generation's progress on stderr. */
export function drawRunProgress(): boolean {
  return drawing;
}

/** Draws generation progress from run events; {@link stop} removes the line. */
export interface GenerationProgress {
  onEvent(event: RunEvent): void;
  stop(): void;
}

/**
 * One line on `stream` (stderr) while the model generates, for every backend: the round, the tokens
 * so far and the rate ("generating, round 0: 120 tokens, 14.2 tok/s"). It appears with the first
 * token and is removed when the generation ends, so that log lines and the report are not garbled.
 */
export function createGenerationProgress(stream: NodeJS.WritableStream): GenerationProgress {
  let bar: SingleBar | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const show = (round: number, tokens: number, rate: number | null): void => {
    const payload = { round, speed: rate === null ? "-" : rate.toFixed(1) };
    if (!bar) {
      bar = new SingleBar(
        {
          format: "generating, round {round}: {value} tokens, {speed} tok/s",
          stream,
          hideCursor: true,
          clearOnComplete: true,
          // Redrawn on each event (the run sends one at most every 250 ms), besides cli-progress's own timer.
          fps: 4,
        },
        Presets.shades_classic,
      );
      // The total is unknown while generating; the line shows the count, not a bar.
      bar.start(Number.MAX_SAFE_INTEGER, tokens, payload);
      return;
    }
    bar.update(tokens, payload);
    // Drawn now: the run already spaces these events, and cli-progress would skip one that comes soon after another.
    bar.render();
  };
  return {
    onEvent(event) {
      if (event.type === "first_token") show(event.round, 1, null);
      else if (event.type === "generating") show(event.round, event.tokens, event.tokens_per_sec);
      else if (event.type === "generated" || event.type === "answer_restart" || event.type === "result") stop();
    },
    stop,
  };
}
