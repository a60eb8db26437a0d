import type { BackendInfo } from "../backends/types.js";
import type { RunMetrics } from "./metrics.js";

/** The human verification block `--report` prints on stderr. */
export function formatReport(metrics: RunMetrics, info: BackendInfo | undefined, verdict: string): string {
  const memory = process.memoryUsage();
  const rows: Array<[string, string]> = [
    ["task", metrics.task_id],
    ["result", metrics.success ? `suggestion produced, verdict ${verdict}` : `FAILED (${metrics.error ?? "unknown"})`],
    ["backend", metrics.backend],
    ["model", metrics.model || "(none)"],
    ["device", info?.device ?? "(not started)"],
    ["context", info ? `${info.contextSize} tokens` : "-"],
    ["load", `${metrics.load_ms} ms`],
    ["prompt", `${metrics.prompt_tokens} tokens${metrics.prompt_ms !== null ? ` in ${metrics.prompt_ms} ms` : ""}`],
    ["first token", metrics.time_to_first_token_ms !== null ? `${metrics.time_to_first_token_ms} ms` : "-"],
    ["generated", `${metrics.generated_tokens} tokens`],
    ["speed", metrics.tokens_per_sec !== null ? `${metrics.tokens_per_sec} tokens/s (generation only)` : "-"],
    ["latency", `${metrics.total_ms} ms total`],
    ...(info?.memoryBytes ? ([["model memory", `${mib(info.memoryBytes)} MiB`]] as Array<[string, string]>) : []),
    // Builder's own process: with a server backend the model's memory is the server's, not this.
    [
      "Builder RSS",
      `${mib(memory.rss)} MiB (this process${metrics.backend === "embedded" ? ", model included" : ", not the model server"})`,
    ],
  ];
  if (metrics.check_ms) {
    rows.push(["repairs", `${metrics.repair_rounds ?? 0} round(s)`]);
    rows.push([
      "checks",
      Object.entries(metrics.check_ms)
        .map(([name, ms]) => `${name} ${ms} ms`)
        .join(", ") + ` (verification ${metrics.verify_ms ?? 0} ms in all)`,
    ]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
  return ["── Builder verification report ──", ...lines, ""].join("\n");
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
