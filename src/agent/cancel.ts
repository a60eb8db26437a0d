import { CancelledError } from "../errors/errors.js";

/** Ends the run with a `CANCELLED` error when its caller aborted `signal`. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
