import type { CostConfig } from "../config/schema.js";
import type { GroupStats, StatsReport } from "./run-stats.js";

/** Where a cost input came from: the user's config, or Builder's default (never a measurement). */
export type InputSource = "configured" | "default";

/** A cost input with its origin, so reports can label defaults as defaults. */
export interface CostInput {
  value: number;
  source: InputSource;
}

/** One API to compare with: prices per million tokens, and when they were read. */
export interface ApiPrice {
  name: string;
  input_per_million: number;
  output_per_million: number;
  as_of: string | null;
  source: InputSource;
}

/** The resolved inputs of a cost report. */
export interface CostSettings {
  power_watts: CostInput;
  electricity_price_per_kwh: CostInput;
  currency: string;
  hardware_price: number | null;
  api_prices: ApiPrice[];
  notes: string[];
}

/** When the built-in API prices were read. */
export const DEFAULT_API_PRICES_AS_OF = "2025-01";

/** Public list prices in USD per million tokens, as of {@link DEFAULT_API_PRICES_AS_OF}. Defaults, not measurements. */
export const DEFAULT_API_PRICES: Readonly<Record<string, { input_per_million: number; output_per_million: number }>> = {
  "gpt-4o": { input_per_million: 2.5, output_per_million: 10 },
  "gpt-4o-mini": { input_per_million: 0.15, output_per_million: 0.6 },
  "claude-3.5-sonnet": { input_per_million: 3, output_per_million: 15 },
  "claude-3.5-haiku": { input_per_million: 0.8, output_per_million: 4 },
};

/** A single-GPU workstation under generation load (GPU ≈ 250–350 W plus the rest of the machine). */
export const DEFAULT_POWER_WATTS = 350;
/** A round household price; set yours. */
export const DEFAULT_ELECTRICITY_PRICE_PER_KWH = 0.3;
export const DEFAULT_CURRENCY = "USD";

/** Config `cost` with every unset field filled by a default that says it is one. */
export function resolveCostSettings(config: CostConfig): CostSettings {
  const currency = config.currency ?? DEFAULT_CURRENCY;
  const notes: string[] = [];
  const configuredPrices = config.api_prices;
  if (!configuredPrices && currency !== DEFAULT_CURRENCY) {
    notes.push(
      `The built-in API prices are in USD but cost.currency is ${currency}; set cost.api_prices in ${currency} for a fair comparison.`,
    );
  }
  const api_prices: ApiPrice[] = configuredPrices
    ? Object.entries(configuredPrices).map(([name, p]) => ({
        name,
        input_per_million: p.input_per_million,
        output_per_million: p.output_per_million,
        as_of: p.as_of ?? null,
        source: "configured",
      }))
    : Object.entries(DEFAULT_API_PRICES).map(([name, p]) => ({
        name,
        ...p,
        as_of: DEFAULT_API_PRICES_AS_OF,
        source: "default",
      }));
  return {
    power_watts:
      config.power_watts !== undefined
        ? { value: config.power_watts, source: "configured" }
        : { value: DEFAULT_POWER_WATTS, source: "default" },
    electricity_price_per_kwh:
      config.electricity_price_per_kwh !== undefined
        ? { value: config.electricity_price_per_kwh, source: "configured" }
        : { value: DEFAULT_ELECTRICITY_PRICE_PER_KWH, source: "default" },
    currency,
    hardware_price: config.hardware_price ?? null,
    api_prices,
    notes,
  };
}

/** What the same tokens would have cost on one API, and what running locally saved. */
export interface ApiComparison {
  name: string;
  api_cost: number;
  /** api_cost − local cost; negative when local was dearer. */
  savings: number;
  /** Runs after which the savings pay for `hardware_price`; null without a price or without savings. */
  break_even_runs: number | null;
  /** The electricity price per kWh at which local and API cost the same. */
  break_even_electricity_price: number | null;
}

/** Cost figures for one backend + model, or for everything. */
export interface GroupCost {
  backend: string;
  model: string;
  runs: number;
  /** Measured: the tokens the runs used. */
  prompt_tokens: number;
  generated_tokens: number;
  /** Measured: wall time of all runs (load, prompt and generation; conservative). */
  busy_hours: number;
  energy_kwh: number;
  local_cost: number;
  apis: ApiComparison[];
}

/** What `builder cost` reports. */
export interface CostReport {
  period: StatsReport["period"];
  settings: CostSettings;
  groups: GroupCost[];
  total: GroupCost;
}

/**
 * Local cost = measured busy time × power draw × electricity price; API cost = the same measured
 * token counts × list prices. Savings and break-even follow from those two.
 */
export function computeCost(stats: StatsReport, settings: CostSettings): CostReport {
  return {
    period: stats.period,
    settings,
    groups: stats.groups.map((g) => groupCost(g, settings)),
    total: groupCost(stats.total, settings),
  };
}

function groupCost(group: GroupStats, settings: CostSettings): GroupCost {
  const hours = group.busy_ms / 3_600_000;
  const energy = (hours * settings.power_watts.value) / 1000;
  const local = energy * settings.electricity_price_per_kwh.value;
  const apis = settings.api_prices.map((price): ApiComparison => {
    const apiCost =
      (group.prompt_tokens * price.input_per_million + group.generated_tokens * price.output_per_million) / 1e6;
    const savings = apiCost - local;
    const savingsPerRun = group.runs > 0 ? savings / group.runs : 0;
    return {
      name: price.name,
      api_cost: round(apiCost, 6),
      savings: round(savings, 6),
      break_even_runs:
        settings.hardware_price !== null && savingsPerRun > 0
          ? Math.ceil(settings.hardware_price / savingsPerRun)
          : null,
      break_even_electricity_price: energy > 0 ? round(apiCost / energy, 4) : null,
    };
  });
  return {
    backend: group.backend,
    model: group.model,
    runs: group.runs,
    prompt_tokens: group.prompt_tokens,
    generated_tokens: group.generated_tokens,
    busy_hours: round(hours, 6),
    energy_kwh: round(energy, 6),
    local_cost: round(local, 6),
    apis,
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
