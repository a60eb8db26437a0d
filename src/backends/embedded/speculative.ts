import {
  InputLookupTokenPredictor,
  TokenPredictor,
  type LlamaContextSequence,
  type SequenceEvaluateOptions,
  type Token,
} from "node-llama-cpp";

/** Drafts evaluated before the acceptance rate is judged: fewer say nothing about the run. */
export const ACCEPTANCE_SAMPLE = 48;

/**
 * Below this share of validated drafts, prompt lookup costs more than it saves: every refuted draft is
 * a wasted batch slot. Greedy output is the same either way, so switching off is only about speed.
 */
export const MIN_ACCEPTANCE = 0.25;

/**
 * The longest run of generated tokens the lookup matches against the prompt. With node-llama-cpp's
 * default (a one-token pattern, the earliest match) on an ~8K-token prompt, a random model generated
 * at 3.7-5.9 tok/s with drafting on against 44-49 off; with this bound, 54-59 (a synthesized 512-wide
 * model, 2 CPU threads). Longer patterns also draft from the place an edit really copies from.
 */
export const PROMPT_LOOKUP_MAX_PATTERN = 8;

/**
 * Prompt-lookup speculative decoding (node-llama-cpp's InputLookupTokenPredictor: edit and whole-file
 * answers copy much of the prompt) that a run can switch off. The predictor belongs to a sequence for
 * its whole life, so switching off means predicting nothing rather than removing it.
 */
export class SwitchablePromptLookup extends TokenPredictor {
  private readonly inner = new InputLookupTokenPredictor({ patternLength: { max: PROMPT_LOOKUP_MAX_PATTERN } });
  /** Whether drafts are proposed; reset to true at the start of every generation. */
  enabled = true;

  /** The longest run of generated tokens looked up in the prompt (0 would mean unbounded). */
  get patternMaxLength(): number {
    return this.inner.patternMaxLength;
  }

  reset(params: {
    targetSequence: LlamaContextSequence;
    stateTokens: Token[];
    evaluateOptions: Readonly<SequenceEvaluateOptions>;
  }): void {
    this.inner.reset({ stateTokens: params.stateTokens });
  }

  pushTokens(tokens: Token[]): void {
    this.inner.pushTokens(tokens);
  }

  predictTokens(): Token[] {
    return this.enabled ? this.inner.predictTokens() : [];
  }

  override updateInputTokens(tokens: Token[]): void {
    this.inner.updateInputTokens(tokens);
  }

  override dispose(): void {
    this.inner.dispose();
  }
}

/** Draft tokens of one generation. */
export interface DraftCounts {
  validated: number;
  refuted: number;
}

/**
 * Follows one generation's drafts on `sequence` and switches prediction off when the acceptance rate
 * after {@link ACCEPTANCE_SAMPLE} drafts is below {@link MIN_ACCEPTANCE}.
 */
export class DraftWatch {
  private readonly start: DraftCounts;
  /** True once prediction was switched off for low acceptance. */
  switchedOff = false;

  constructor(
    private readonly sequence: LlamaContextSequence,
    private readonly predictor: SwitchablePromptLookup | undefined,
  ) {
    const { validated, refuted } = sequence.tokenPredictions;
    this.start = { validated, refuted };
    if (predictor) predictor.enabled = true;
  }

  /** Drafts validated and refuted since this generation began. */
  counts(): DraftCounts {
    const now = this.sequence.tokenPredictions;
    return { validated: now.validated - this.start.validated, refuted: now.refuted - this.start.refuted };
  }

  /** Called on every generated token. */
  check(): void {
    if (!this.predictor?.enabled) return;
    const { validated, refuted } = this.counts();
    if (validated + refuted >= ACCEPTANCE_SAMPLE && validated / (validated + refuted) < MIN_ACCEPTANCE) {
      this.predictor.enabled = false;
      this.switchedOff = true;
    }
  }
}
