import type { LlamaContextSequence } from "node-llama-cpp";

/**
 * Hands out the context's sequences one job at a time, so that concurrent requests queue instead of
 * mixing their tokens in one sequence.
 */
export class SequencePool {
  private readonly free: LlamaContextSequence[];
  private readonly waiting: Array<(sequence: LlamaContextSequence) => void> = [];
  private readonly all: LlamaContextSequence[];
  /** Busy sequences a job replaced ({@link replace}): the replacement goes back to the pool, not them. */
  private readonly replaced = new Map<LlamaContextSequence, LlamaContextSequence>();

  /** How many sequences the pool holds. */
  readonly capacity: number;

  constructor(sequences: LlamaContextSequence[]) {
    this.free = [...sequences];
    this.capacity = sequences.length;
    this.all = [...sequences];
  }

  /** Every sequence, busy or not. */
  get sequences(): readonly LlamaContextSequence[] {
    return this.all;
  }

  /**
   * Puts `fresh` in the place of `old`, a sequence the caller's job holds (it was reset after an engine
   * fault): when the job ends, `fresh` is what goes back to the pool.
   */
  replace(old: LlamaContextSequence, fresh: LlamaContextSequence): void {
    const index = this.all.indexOf(old);
    if (index >= 0) this.all[index] = fresh;
    this.replaced.set(old, fresh);
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
      const back = this.current(sequence);
      const next = this.waiting.shift();
      if (next) next(back);
      else this.free.push(back);
    }
  }

  /** The sequence now standing for `sequence` (itself unless a job replaced it, maybe more than once). */
  private current(sequence: LlamaContextSequence): LlamaContextSequence {
    let now = sequence;
    for (let next = this.replaced.get(now); next; next = this.replaced.get(now)) {
      this.replaced.delete(now);
      now = next;
    }
    return now;
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
