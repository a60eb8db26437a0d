import type { LlamaContextSequence } from "node-llama-cpp";

/**
 * Hands out the context's sequences one job at a time, so that concurrent requests queue instead of
 * mixing their tokens in one sequence.
 */
export class SequencePool {
  private readonly free: LlamaContextSequence[];
  private readonly waiting: Array<(sequence: LlamaContextSequence) => void> = [];

  /** How many sequences the pool holds. */
  readonly capacity: number;
  /** Every sequence, busy or not. */
  readonly sequences: readonly LlamaContextSequence[];

  constructor(sequences: LlamaContextSequence[]) {
    this.free = [...sequences];
    this.capacity = sequences.length;
    this.sequences = [...sequences];
  }

  /**
   * Runs `job` with a sequence of its own; waits for one when all are busy. With `score`, the free
   * sequence scoring highest is taken (the one already holding most of the prompt).
   */
  async use<T>(
    job: (sequence: LlamaContextSequence) => Promise<T>,
    score?: (sequence: LlamaContextSequence) => number,
  ): Promise<T> {
    const sequence =
      this.take(score) ?? (await new Promise<LlamaContextSequence>((resolve) => this.waiting.push(resolve)));
    try {
      return await job(sequence);
    } finally {
      const next = this.waiting.shift();
      if (next) next(sequence);
      else this.free.push(sequence);
    }
  }

  private take(score: ((sequence: LlamaContextSequence) => number) | undefined): LlamaContextSequence | undefined {
    if (!score || this.free.length < 2) return this.free.pop();
    let best = this.free.length - 1;
    for (let i = 0; i < this.free.length; i++) if (score(this.free[i]) > score(this.free[best])) best = i;
    return this.free.splice(best, 1)[0];
  }

  /** Sequences currently running a job. */
  get busy(): number {
    return this.capacity - this.free.length;
  }
}
