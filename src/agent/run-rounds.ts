// The run's steps as events, and its cancel checks: loading the model, each round's generation (and
// the repair round's prompt) and each round's checks. Kept apart from the agent loop (run-task.ts), which calls these.
import type { Logger } from "pino";
import type { Backend, BackendInfo, ChatMessage } from "../backends/types.js";
import { round } from "../format/numbers.js";
import { tokensPerSecond } from "../telemetry/metrics.js";
import type { VerificationReport } from "../verify/verify.js";
import { generateAnswer, type AnswerStepInput, type UsageObserver } from "./answer-step.js";
import { planAnswerBudget } from "./budget.js";
import { throwIfCancelled } from "./cancel.js";
import { GenerationTracker, type RunEvent, type RunEventListener } from "./events.js";
import { REPAIR_DIAGNOSTIC_LIMITS, buildRepairMessages, type Attempt, type GeneratedAnswer } from "./repair.js";

/** What a round needs from the run: the caller's signal and listeners, the generation input, the usage, the events. */
export interface RoundRun {
  options: {
    signal?: AbortSignal;
    onEvent?: RunEventListener;
    onTextChunk?: (text: string) => void;
    onRestart?: (reason: string) => void;
  };
  step: AnswerStepInput;
  usage: UsageObserver;
  emit: RunEventListener;
}

/** Loads or connects to the model (reported as `model_loading` and `model_loaded`); a cancel while it loads ends the run. */
export async function loadBackend(
  backend: Backend,
  emit: RunEventListener,
  signal: AbortSignal | undefined,
): Promise<BackendInfo> {
  throwIfCancelled(signal);
  emit({ type: "model_loading" });
  const info = await backend.prepare();
  throwIfCancelled(signal);
  emit({
    type: "model_loaded",
    backend: info.backend,
    model: info.model,
    device: info.device,
    context_size: info.contextSize,
    load_ms: round(info.loadMs),
  });
  return info;
}

/** A listener that never breaks the run: what it throws is logged and dropped. */
export function safeEmitter(listener: RunEventListener | undefined, logger: Logger): RunEventListener {
  if (!listener) return () => undefined;
  return (event: RunEvent) => {
    try {
      listener(event);
    } catch (error) {
      logger.warn({ err: error, event: event.type }, "a run event listener failed");
    }
  };
}

/**
 * One round's generation input: its text goes to the round's {@link GenerationTracker} (the
 * `first_token`, `generating` and `answer_text` events) as well as to the caller's own listeners.
 */
function roundStep(run: RoundRun, round: number): AnswerStepInput {
  const { step, options } = run;
  if (!options.onEvent) return step;
  const tracker = new GenerationTracker(round, run.emit);
  return {
    ...step,
    onTextChunk: (text) => {
      tracker.chunk(text);
      options.onTextChunk?.(text);
    },
    onRestart: (reason) => {
      tracker.restart(reason);
      options.onRestart?.(reason);
    },
  };
}

/** Generates one round's answer, reporting it as events; a cancelled generation ends the run. */
export async function generateRound(
  run: RoundRun,
  round: number,
  messages: ChatMessage[],
  previous?: Attempt,
): Promise<GeneratedAnswer> {
  throwIfCancelled(run.options.signal);
  const observer: UsageObserver = {
    promptCounted: (tokens) => run.usage.promptCounted(tokens),
    generated: (result) => {
      run.usage.generated(result);
      throwIfCancelled(run.options.signal);
      const { generatedTokens, generationMs } = result.metrics;
      run.emit({
        type: "generated",
        round,
        tokens: generatedTokens,
        stop_reason: result.stopReason,
        tokens_per_sec: tokensPerSecond(generatedTokens, generationMs),
      });
    },
  };
  try {
    return await generateAnswer(roundStep(run, round), messages, observer, previous);
  } catch (error) {
    // A backend that fails on abort (a fetch cut short) reports it its own way; the caller asked for it.
    throwIfCancelled(run.options.signal);
    throw error;
  }
}

/** Reports a round's checks as events (after the cancel check: a cancelled run reports nothing more). */
export function reportChecks(run: RoundRun, roundNo: number, report: VerificationReport): VerificationReport {
  throwIfCancelled(run.options.signal);
  for (const check of report.checks)
    run.emit({
      type: "check",
      round: roundNo,
      name: check.name,
      status: check.status,
      duration_ms: round(check.durationMs),
      summary: check.summary,
    });
  return report;
}

/**
 * The repair prompt, with as many diagnostics as fit: fewer lines per check until the prompt leaves
 * room for the answer; when even one line does not fit, the context is too small for a repair.
 */
export async function fitRepairPrompt(
  backend: Backend,
  base: ChatMessage[],
  previous: Attempt,
  contextSize: number,
  numPredict: number | undefined,
): Promise<ChatMessage[]> {
  let overflow: unknown;
  for (const limit of REPAIR_DIAGNOSTIC_LIMITS) {
    const messages = buildRepairMessages(base, previous, limit);
    const count = await backend.countPromptTokens(messages);
    try {
      planAnswerBudget({ promptTokens: count.tokens, contextSize, numPredict, exact: count.exact });
      return messages;
    } catch (error) {
      overflow = error;
    }
  }
  throw overflow;
}
