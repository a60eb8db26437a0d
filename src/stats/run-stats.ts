import { MIN_GENERATION_MS } from "../telemetry/metrics.js";
import { numberOrUndefined, scanMetrics, type MetricsRecord, type Period, type ScanSummary } from "./metrics-reader.js";
import { percentile } from "./percentile.js";

/** p50 and p95 of a measure; null when no run recorded it. */
export interface Spread {
  p50: number;
  p95: number;
}

/** The figures for one backend + model (or for all runs). */
export interface GroupStats {
  backend: string;
  model: string;
  runs: number;
  successes: number;
  /** successes / runs. */
  success_rate: number;
  /** Runs whose verdict was VERIFIED. */
  verified: number;
  /** verified / runs: runs without a recorded verdict count as not verified. */
  verified_rate: number;
  /** Runs per verdict; "unrecorded" for lines written before verdicts were recorded, or failed runs. */
  verdicts: Record<string, number>;
  /** Wall time of successful runs. */
  latency_ms: Spread | null;
  /** Median generation speed (tokens after the first / time after the first). */
  tokens_per_sec_p50: number | null;
  time_to_first_token_ms: Spread | null;
  /** Repair rounds of the runs that record them. */
  repair_rounds: { runs: number; mean: number; max: number } | null;
  prompt_tokens: number;
  generated_tokens: number;
  /** Wall time of all runs, failed ones included: the time the machine was busy. */
  busy_ms: number;
  /** Failed runs by error code. */
  errors: Record<string, number>;
  /** Prompt-lookup speculative decoding: draft tokens validated and refuted, and validated / both; null when no run recorded drafts. */
  draft_tokens: { validated: number; refuted: number; acceptance: number } | null;
  /** Prompt tokens restored or kept instead of evaluated (Builder host, prefix cache), all runs. */
  cached_prefix_tokens: number;
  first_run: string | null;
  last_run: string | null;
}

/** What `builder stats` reports. */
export interface StatsReport {
  file: string;
  period: { since: string | null; until: string | null };
  scan: ScanSummary;
  /** One entry per backend + model, most runs first. */
  groups: GroupStats[];
  total: GroupStats;
  /**
   * Runs that stopped before any model was asked (no model configured, a bad config or task): by error
   * code. They are setup errors, not a model's failures, so they count in no group.
   */
  not_started: Record<string, number>;
}

/** Error codes of runs that never reached the model: the setup, not the model, failed. */
const SETUP_ERRORS: ReadonlySet<string> = new Set([
  "USAGE",
  "TASK_INVALID",
  "CONFIG_INVALID",
  "MODEL_NOT_CONFIGURED",
  "MODEL_NOT_FOUND",
  "MODEL_DOWNLOAD_FAILED",
]);

/** Reads the metrics file once, streaming, and computes the figures per backend + model and overall. */
export async function computeStats(filePath: string, period: Period = {}): Promise<StatsReport> {
  const groups = new Map<string, Accumulator>();
  const total = new Accumulator("(all)", "(all)");
  const notStarted: Record<string, number> = {};
  const scan = await scanMetrics(filePath, period, (record) => {
    if (record.success !== true && typeof record.error === "string" && SETUP_ERRORS.has(record.error)) {
      notStarted[record.error] = (notStarted[record.error] ?? 0) + 1;
      return;
    }
    const backend = typeof record.backend === "string" && record.backend ? record.backend : "(unknown)";
    const model = typeof record.model === "string" && record.model ? record.model : "(unknown)";
    const key = `${backend}\u0000${model}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = new Accumulator(backend, model)));
    group.add(record);
    total.add(record);
  });
  return {
    file: filePath,
    period: { since: period.since?.toISOString() ?? null, until: period.until?.toISOString() ?? null },
    scan,
    groups: [...groups.values()]
      .map((g) => g.result())
      .sort((a, b) => b.runs - a.runs || a.model.localeCompare(b.model)),
    total: total.result(),
    not_started: notStarted,
  };
}

class Accumulator {
  private runs = 0;
  private successes = 0;
  private readonly verdicts: Record<string, number> = {};
  private readonly errors: Record<string, number> = {};
  private readonly latency: number[] = [];
  private readonly speed: number[] = [];
  private readonly ttft: number[] = [];
  private readonly repairs: number[] = [];
  private promptTokens = 0;
  private generatedTokens = 0;
  private busyMs = 0;
  private draftsValidated = 0;
  private draftsRefuted = 0;
  private draftRuns = 0;
  private cachedPrefix = 0;
  private first: string | null = null;
  private last: string | null = null;

  constructor(
    private readonly backend: string,
    private readonly model: string,
  ) {}

  add(record: MetricsRecord): void {
    this.runs += 1;
    const success = record.success === true;
    if (success) this.successes += 1;
    const verdict = typeof record.verdict === "string" && record.verdict ? record.verdict : "unrecorded";
    this.verdicts[verdict] = (this.verdicts[verdict] ?? 0) + 1;
    if (!success) {
      const code = typeof record.error === "string" && record.error ? record.error : "unknown";
      this.errors[code] = (this.errors[code] ?? 0) + 1;
    }
    const total = numberOrUndefined(record.total_ms);
    if (total !== undefined) {
      this.busyMs += total;
      if (success) this.latency.push(total);
    }
    const speed = measuredSpeed(record);
    if (speed !== undefined) this.speed.push(speed);
    const ttft = numberOrUndefined(record.time_to_first_token_ms);
    if (ttft !== undefined) this.ttft.push(ttft);
    const repairs = numberOrUndefined(record.repair_rounds);
    if (repairs !== undefined) this.repairs.push(repairs);
    this.promptTokens += numberOrUndefined(record.prompt_tokens) ?? 0;
    this.generatedTokens += numberOrUndefined(record.generated_tokens) ?? 0;
    this.cachedPrefix += numberOrUndefined(record.cached_prefix_tokens) ?? 0;
    const validated = numberOrUndefined(record.draft_tokens_validated);
    const refuted = numberOrUndefined(record.draft_tokens_refuted);
    if (validated !== undefined || refuted !== undefined) {
      this.draftRuns += 1;
      this.draftsValidated += validated ?? 0;
      this.draftsRefuted += refuted ?? 0;
    }
    if (typeof record.timestamp === "string") {
      if (this.first === null || record.timestamp < this.first) this.first = record.timestamp;
      if (this.last === null || record.timestamp > this.last) this.last = record.timestamp;
    }
  }

  result(): GroupStats {
    const verified = this.verdicts.VERIFIED ?? 0;
    return {
      backend: this.backend,
      model: this.model,
      runs: this.runs,
      successes: this.successes,
      success_rate: ratio(this.successes, this.runs),
      verified,
      verified_rate: ratio(verified, this.runs),
      verdicts: { ...this.verdicts },
      latency_ms: spread(this.latency),
      tokens_per_sec_p50: percentile(this.speed, 0.5) ?? null,
      time_to_first_token_ms: spread(this.ttft),
      repair_rounds:
        this.repairs.length > 0
          ? {
              runs: this.repairs.length,
              mean: round(this.repairs.reduce((a, b) => a + b, 0) / this.repairs.length),
              max: Math.max(...this.repairs),
            }
          : null,
      prompt_tokens: this.promptTokens,
      generated_tokens: this.generatedTokens,
      busy_ms: round(this.busyMs),
      errors: { ...this.errors },
      draft_tokens:
        this.draftRuns > 0
          ? {
              validated: this.draftsValidated,
              refuted: this.draftsRefuted,
              acceptance: ratio(this.draftsValidated, this.draftsValidated + this.draftsRefuted),
            }
          : null,
      cached_prefix_tokens: this.cachedPrefix,
      first_run: this.first,
      last_run: this.last,
    };
  }
}

function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 0.5, true) ?? 0, p95: percentile(sorted, 0.95, true) ?? 0 };
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : round(part / whole, 4);
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * The run's tokens/s, or undefined when it has none: null (nothing to measure) or a figure no clock
 * could have measured. Lines written before tokensPerSecond returned null for answers delivered in
 * one chunk hold values like 44871794.9: more tokens per second than (tokens - 1) in MIN_GENERATION_MS.
 */
function measuredSpeed(record: MetricsRecord): number | undefined {
  const speed = numberOrUndefined(record.tokens_per_sec);
  if (speed === undefined || speed <= 0) return undefined;
  const tokens = numberOrUndefined(record.generated_tokens);
  if (tokens !== undefined && speed > ((tokens - 1) * 1000) / MIN_GENERATION_MS) return undefined;
  return speed;
}
