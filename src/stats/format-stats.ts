import path from "node:path";
import { formatTable } from "../format/table.js";
import type { CostInput, CostReport } from "./cost.js";
import type { GroupStats, Spread, StatsReport } from "./run-stats.js";

/** `builder stats` for a terminal. */
export function formatStats(report: StatsReport): string {
  const lines = [headline(report)];
  if (report.total.runs === 0)
    return [...lines, "No runs recorded in this period.", ...notStartedLine(report), ""].join("\n");
  const labels = modelLabels(report.groups);
  const row = (g: GroupStats): string[] => [
    g.backend,
    labels.get(g) ?? modelName(g.model),
    String(g.runs),
    percent(g.success_rate),
    percent(g.verified_rate),
    ms(g.latency_ms, "p50"),
    ms(g.latency_ms, "p95"),
    g.tokens_per_sec_p50 !== null ? g.tokens_per_sec_p50.toFixed(1) : "-",
    ms(g.time_to_first_token_ms, "p50"),
    g.repair_rounds ? `${g.repair_rounds.mean} (max ${g.repair_rounds.max})` : "-",
  ];
  const rows = report.groups.map(row);
  if (report.groups.length > 1) rows.push(row(report.total));
  lines.push(
    formatTable(
      [
        "backend",
        "model",
        "runs",
        "success",
        "verified",
        "p50 latency",
        "p95 latency",
        "tok/s p50",
        "ttft p50",
        "repair rounds",
      ],
      rows,
      ["left", "left", "right", "right", "right", "right", "right", "right", "right", "right"],
    ).trimEnd(),
  );
  const drafts = report.total.draft_tokens;
  if (drafts) {
    lines.push(
      "",
      `Speculative decoding (prompt lookup): ${drafts.validated} draft tokens validated, ${drafts.refuted} refuted (${percent(drafts.acceptance)} accepted).`,
    );
  }
  if (report.total.cached_prefix_tokens > 0)
    lines.push(
      `Prompt tokens reused instead of evaluated (Builder host, prefix cache): ${report.total.cached_prefix_tokens}.`,
    );
  const errors = Object.entries(report.total.errors).sort((a, b) => b[1] - a[1]);
  if (errors.length > 0) lines.push("", `Failures: ${errors.map(([code, count]) => `${code} ${count}`).join(", ")}`);
  lines.push(...notStartedLine(report));
  lines.push(
    "",
    "latency: wall time of successful runs; tok/s: generation only; verified: runs whose checks all passed (VERIFIED) out of all runs.",
  );
  return lines.join("\n") + "\n";
}

/** `builder cost` for a terminal; defaults are labelled as such, measurements as measured. */
export function formatCost(report: CostReport): string {
  const lines = costInputLines(report);
  if (report.total.runs === 0) return lines.concat("", "No runs recorded in this period.").join("\n") + "\n";
  lines.push("", "Measured (token counts and busy time of the recorded runs):", measuredCostTable(report));
  lines.push(
    "",
    "The same tokens on an API, for all runs:",
    apiCostTable(report),
    "",
    "busy h: wall time of every run (load, prompt and generation), so the local cost is on the high side. break-even runs: runs until the savings pay for the hardware.",
  );
  return lines.join("\n") + "\n";
}

/** Amounts in the report's currency, with more decimals below 1. */
function moneyIn(currency: string): (value: number) => string {
  return (value) => `${value < 1 ? value.toFixed(4) : value.toFixed(2)} ${currency}`;
}

/** What the cost rests on: power, electricity and hardware prices, API prices (defaults say so). */
function costInputLines(report: CostReport): string[] {
  const { settings } = report;
  const money = moneyIn(settings.currency);
  return [
    `Cost of ${runsIn(report.total.runs, report.period)}.`,
    `Inputs: power ${labelled(settings.power_watts, "W", "cost.power_watts")}; electricity ${labelled(settings.electricity_price_per_kwh, `${settings.currency}/kWh`, "cost.electricity_price_per_kwh")}; ` +
      `hardware price ${settings.hardware_price !== null ? money(settings.hardware_price) : "not set (cost.hardware_price; needed for break-even runs)"}.`,
    `API prices per million tokens (input / output): ${settings.api_prices
      .map(
        (p) =>
          `${p.name} ${p.input_per_million} / ${p.output_per_million}${p.source === "default" ? ` (DEFAULT list price as of ${p.as_of ?? "?"}, not measured)` : p.as_of ? ` (as of ${p.as_of})` : ""}`,
      )
      .join("; ")}.`,
    ...settings.notes,
  ];
}

/** One row per backend and model (and a total when there are several). */
function measuredCostTable(report: CostReport): string {
  const money = moneyIn(report.settings.currency);
  const groupRows = [...report.groups, ...(report.groups.length > 1 ? [report.total] : [])].map((g) => [
    g.backend,
    modelName(g.model),
    String(g.runs),
    String(g.prompt_tokens),
    String(g.generated_tokens),
    g.busy_hours.toFixed(3),
    g.energy_kwh.toFixed(4),
    money(g.local_cost),
  ]);
  return formatTable(
    ["backend", "model", "runs", "prompt tok", "generated tok", "busy h", "kWh", "local cost"],
    groupRows,
    ["left", "left", "right", "right", "right", "right", "right", "right"],
  ).trimEnd();
}

/** One row per API: what the same tokens would cost there, the savings and the break-even points. */
function apiCostTable(report: CostReport): string {
  const { settings } = report;
  const money = moneyIn(settings.currency);
  const apiRows = report.total.apis.map((api) => [
    api.name,
    money(api.api_cost),
    money(api.savings),
    api.break_even_runs !== null ? String(api.break_even_runs) : api.savings <= 0 ? "never (no savings)" : "-",
    api.break_even_electricity_price !== null ? `${api.break_even_electricity_price} ${settings.currency}/kWh` : "-",
  ]);
  return formatTable(["api", "api cost", "savings", "break-even runs", "break-even electricity"], apiRows, [
    "left",
    "right",
    "right",
    "right",
    "right",
  ]).trimEnd();
}

function runsIn(runs: number, period: StatsReport["period"]): string {
  const window =
    period.since || period.until ? `from ${period.since ?? "the start"} to ${period.until ?? "now"}` : "all time";
  return `${runs} run${runs === 1 ? "" : "s"}, ${window}`;
}

function labelled(input: CostInput, unit: string, key: string): string {
  return input.source === "default"
    ? `${input.value} ${unit} (DEFAULT, not measured: set ${key})`
    : `${input.value} ${unit}`;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function ms(spread: Spread | null, which: keyof Spread): string {
  if (!spread) return "-";
  const value = spread[which];
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/** `Metrics: <file>: N runs, <period>; M unreadable lines skipped.` */
function headline(report: StatsReport): string {
  const bad =
    report.scan.skipped > 0
      ? `; ${report.scan.skipped} unreadable line${report.scan.skipped === 1 ? "" : "s"} skipped`
      : "";
  return `Metrics: ${report.file}: ${runsIn(report.scan.used, report.period)}${bad}.`;
}

/** The runs that never reached a model (setup errors), apart from the table. */
function notStartedLine(report: StatsReport): string[] {
  const notStarted = Object.entries(report.not_started).sort((a, b) => b[1] - a[1]);
  if (notStarted.length === 0) return [];
  return [
    `Not started (setup errors, counted in no row): ${notStarted.map(([code, count]) => `${code} ${count}`).join(", ")}`,
  ];
}

/** Each group's model label: the file name, or the whole path where two groups' file names would read the same. */
function modelLabels(groups: readonly GroupStats[]): Map<GroupStats, string> {
  const short = (g: GroupStats): string => `${g.backend}\u0000${modelName(g.model)}`;
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(short(g), (counts.get(short(g)) ?? 0) + 1);
  return new Map(groups.map((g) => [g, (counts.get(short(g)) ?? 0) > 1 ? g.model : modelName(g.model)]));
}

/** Model paths shown by file name; server-side names as they are. */
function modelName(model: string): string {
  return model.includes("/") || model.includes("\\") ? path.basename(model) : model;
}
