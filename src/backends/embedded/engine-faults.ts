import { BuilderError, EngineFaultError } from "../../errors/errors.js";
import { getLogger } from "../../telemetry/logger.js";

/**
 * llama.cpp failed on a sequence in a way that may have left cells behind that node-llama-cpp no
 * longer knows of (a state restore that failed half-way): the sequence must be reset before reuse.
 */
export class SequenceFault extends Error {}

/** Attempts on one request: the sequence it got, then one clean one. */
const ATTEMPTS = 2;

/**
 * Runs `attempt` on `sequence`. When llama.cpp fails (anything but one of Builder's own errors), the
 * sequence is reset (`reset` returns the clean one) and the request runs once more on it; a second
 * failure resets it again and becomes an {@link EngineFaultError} carrying llama.cpp's message. Either
 * way the fault ends with this request: the next one starts on a clean sequence. `retryable` says
 * whether running again is still possible (not once part of the answer went out to the caller).
 */
export async function retryOnCleanSequence<S, T>(
  sequence: S,
  attempt: (sequence: S) => Promise<T>,
  reset: (sequence: S) => Promise<S>,
  retryable: () => boolean = () => true,
): Promise<T> {
  let current = sequence;
  const messages: string[] = [];
  for (let round = 1; round <= ATTEMPTS; round++) {
    try {
      return await attempt(current);
    } catch (error) {
      if (error instanceof BuilderError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      messages.push(message);
      const retrying = round < ATTEMPTS && retryable();
      getLogger().warn(
        { err: error, attempt: round },
        retrying
          ? "llama.cpp failed on this request; its sequence was reset and the request runs again on a clean one"
          : "llama.cpp failed on this request; its sequence was reset and the request fails (ENGINE_FAULT)",
      );
      current = await resetOrFail(current, reset, messages);
      if (!retrying) break;
    }
  }
  throw faultError(messages);
}

async function resetOrFail<S>(sequence: S, reset: (sequence: S) => Promise<S>, messages: string[]): Promise<S> {
  try {
    return await reset(sequence);
  } catch (error) {
    messages.push(`resetting the sequence failed: ${(error as Error).message}`);
    throw faultError(messages);
  }
}

function faultError(messages: string[]): EngineFaultError {
  const last = messages[messages.length - 1] ?? "unknown failure";
  const again = messages.length > 1 ? ", also when run again on a clean sequence" : "";
  return new EngineFaultError(
    `llama.cpp failed on this request (${last})${again}. The sequence was reset, so the next request starts clean; if this repeats, run \`builder stop\` and report it with the log above.`,
    { llama_cpp: messages },
  );
}
