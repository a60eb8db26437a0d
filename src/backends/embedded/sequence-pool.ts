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

  constructor(sequences: LlamaContextSequence[]) {
    this.free = [...sequences];
    this.capacity = sequences.length;
  }

  /** Runs `job` with a sequence of its own; waits for one when all are busy. */
  async use<T>(job: (sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
    const sequence = this.free.pop() ?? (await new Promise<LlamaContextSequence>((resolve) => this.waiting.push(resolve)));
    try {
      return await job(sequence);
    } finally {
      const next = this.waiting.shift();
      if (next) next(sequence);
      else this.free.push(sequence);
    }
  }

  /** Sequences currently running a job. */
  get busy(): number {
    return this.capacity - this.free.length;
  }
}
