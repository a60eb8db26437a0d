/** One measured figure, printed as a line of `npm run bench`. */
export interface BenchResult {
  /** What was measured, e.g. "Builder tok/s ÷ raw node-llama-cpp tok/s". */
  name: string;
  value: number;
  /** "ratio", "ms", "%", "tok/s", … */
  unit: string;
  /** The target in words, e.g. "≥ 0.95". */
  target?: string;
  /** Whether the target was met (absent when there is no target). */
  pass?: boolean;
  /** The raw numbers behind a ratio, so a reader can check it. */
  detail?: string;
}

/** A group of results that one bench module produces. */
export interface BenchSection {
  title: string;
  results: BenchResult[];
}

/**
 * How much a module measures: `full` for `npm run bench`; `smoke`, its smallest setting (one round,
 * small inputs), whose figures mean nothing and which only proves that the module runs to the end
 * (`npm run bench -- --smoke`; the suite runs every module so).
 */
export type BenchSize = "full" | "smoke";

/** A bench module: measures one area side by side in this process and returns its figures. */
export interface BenchModule {
  /** Short id used to select it: `npm run bench -- engine`. */
  id: string;
  run(size: BenchSize): Promise<BenchSection>;
}
