import { findBackendDescriptor } from "../backends/descriptors.js";
import type { AcceleratorUsage, BackendInfo } from "../backends/types.js";
import type { RunMetrics } from "./metrics.js";
import type { VerificationCheck } from "../task/schema.js";

/** One labelled line of the report. */
type ReportRow = [label: string, value: string];

/**
 * The human verification block `--report` prints on stderr. `notes`: the verdict's notes (an
 * unsandboxed test run is said); `checks`: the suggestion's checks, so that a FAILED run says which
 * check failed and its first diagnostic, not only how long each took.
 */
export function formatReport(
  metrics: RunMetrics,
  info: BackendInfo | undefined,
  verdict: string,
  notes: readonly string[] = [],
  checks: readonly VerificationCheck[] = [],
): string {
  const rows: ReportRow[] = [
    ["task", metrics.task_id],
    ["result", metrics.success ? `suggestion produced, verdict ${verdict}` : `FAILED (${metrics.error ?? "unknown"})`],
    ["backend", metrics.backend],
    ["model", metrics.model || "(none)"],
    ["device", info?.device ?? "(not started)"],
    ...acceleratorRows(info),
    contextRow(info),
    ...timingRows(metrics),
    ...memoryRows(metrics, info),
    ...verificationRows(metrics),
    // Model-written code that ran without a sandbox is said out loud (the verdict's note, see src/sandbox).
    ...notes.filter((note) => note.startsWith("tests ran unsandboxed")).map((note): ReportRow => ["sandbox", note]),
    ...failedCheckRows(checks),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
  return ["── Builder verification report ──", ...lines, ""].join("\n");
}

function timingRows(metrics: RunMetrics): ReportRow[] {
  return [
    ["load", `${metrics.load_ms} ms`],
    ["prompt", `${metrics.prompt_tokens} tokens${metrics.prompt_ms !== null ? ` in ${metrics.prompt_ms} ms` : ""}`],
    ["first token", metrics.time_to_first_token_ms !== null ? `${metrics.time_to_first_token_ms} ms` : "-"],
    ["generated", `${metrics.generated_tokens} tokens`],
    ["speed", metrics.tokens_per_sec !== null ? `${metrics.tokens_per_sec} tokens/s (generation only)` : "-"],
    ["latency", `${metrics.total_ms} ms total`],
  ];
}

/**
 * The model's memory and who holds it (this process, the Builder host, or the model server), and this
 * process's own RSS, which includes the model only when it runs in-process.
 */
function memoryRows(metrics: RunMetrics, info: BackendInfo | undefined): ReportRow[] {
  const rss = process.memoryUsage().rss;
  // Without info (the run failed before the backend started) the record's backend, the configured one, tells.
  const capabilities = info?.capabilities ?? findBackendDescriptor(metrics.backend)?.capabilities;
  const ownEngine = capabilities?.ownEngine === true;
  const onHost = info?.hostPid !== undefined && metrics.engine !== "in-process";
  const holder = onHost
    ? `held by the Builder host, pid ${info?.hostPid}`
    : ownEngine
      ? `held by this process, pid ${process.pid}`
      : "held by the model server";
  return [
    ...(info?.memoryBytes ? ([["model memory", `${mib(info.memoryBytes)} MiB (${holder})`]] as ReportRow[]) : []),
    [
      "Builder RSS",
      `${mib(rss)} MiB (this process${!ownEngine ? ", not the model server" : onHost ? ", not the Builder host" : ", model included"})`,
    ],
  ];
}

/** Whether Builder's own memory holds the model: only when the engine ran in this process. */

function verificationRows(metrics: RunMetrics): ReportRow[] {
  if (!metrics.check_ms) return [];
  const checks = Object.entries(metrics.check_ms)
    .map(([name, ms]) => `${name} ${ms} ms`)
    .join(", ");
  return [
    ["repairs", `${metrics.repair_rounds ?? 0} round(s)`],
    ["checks", `${checks} (verification ${metrics.verify_ms ?? 0} ms in all)`],
  ];
}

/** One row per failed check: its name, how many diagnostics, and the first one (cut to one line). */
function failedCheckRows(checks: readonly VerificationCheck[]): ReportRow[] {
  return checks
    .filter((check) => check.status === "failed")
    .map((check) => {
      const diagnostics = check.diagnostics ?? [];
      const first = (diagnostics[0] ?? check.summary ?? "").split("\n")[0] ?? "";
      const shown = first.length > 160 ? `${first.slice(0, 157)}...` : first;
      const more = diagnostics.length > 1 ? ` (1 of ${diagnostics.length})` : "";
      return ["failed", `${check.name}: ${shown}${more}`];
    });
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

const CPU = "none (CPU)";

/**
 * The context row: the window in effect and who set it, beside the one Builder asked for when they
 * differ ("4096 tokens (server's; 128000 requested)"), so a server's smaller window is never hidden.
 */
function contextRow(info: BackendInfo | undefined): ReportRow {
  if (!info) return ["context", "-"];
  const tokens = `${info.contextSize} tokens`;
  const requested = info.requestedContextSize;
  const differs = requested !== undefined && requested !== info.contextSize;
  switch (info.contextOrigin) {
    case "server":
      return ["context", `${tokens} (server's${differs ? `; ${requested} requested` : ", as requested"})`];
    case "engine":
      return [
        "context",
        `${tokens} (llama.cpp's context${differs ? `; ${requested} requested` : ""}${info.autoWindowCap !== undefined ? `; num_ctx auto, up to ${info.autoWindowCap}` : ""})`,
      ];
    case "requested":
      // Ollama loads no more than the model was trained on: the window budgeted is that, beside the one configured.
      if (differs) return ["context", `${tokens} (the most the model allows; ${requested} requested)`];
      return info.serverContextSize !== undefined
        ? ["context", `${tokens} (requested; the server allows ${info.serverContextSize})`]
        : ["context", `${tokens} (requested; the server does not report the context in effect)`];
    default:
      return ["context", tokens];
  }
}

/** The GPU, layers and VRAM rows, from what the engine or server reported; "not reported" where it did not. */
function acceleratorRows(info: BackendInfo | undefined): ReportRow[] {
  if (!info) return [];
  const usage = info.accelerator;
  if (!usage) {
    const missing = `not reported by ${info.capabilities.ownEngine ? "the engine" : "the server"}`;
    return [
      ["GPU", missing],
      ["layers on GPU", missing],
      ["VRAM used", missing],
    ];
  }
  return [
    ["GPU", gpuText(usage)],
    ["layers on GPU", layersText(usage)],
    ["VRAM used", vramText(usage)],
  ];
}

/** True when the source says the model is wholly on the CPU. */
function onCpu(usage: AcceleratorUsage): boolean {
  return usage.gpuNames?.length === 0 || usage.vramBytes === 0 || usage.layers?.onGpu === 0;
}

function gpuText(usage: AcceleratorUsage): string {
  if (onCpu(usage)) return CPU;
  if (usage.gpuNames) return usage.gpuNames.join(", ");
  return `not reported by ${usage.source}`;
}

function layersText(usage: AcceleratorUsage): string {
  if (usage.layers) return `${usage.layers.onGpu} / ${usage.layers.total}${usage.layers.onGpu === 0 ? " (CPU)" : ""}`;
  if (onCpu(usage)) return CPU;
  return `not reported by ${usage.source}`;
}

function vramText(usage: AcceleratorUsage): string {
  if (onCpu(usage)) return CPU;
  if (usage.vramBytes === undefined) return `not reported by ${usage.source}`;
  const share =
    usage.totalBytes !== undefined && usage.totalBytes > 0
      ? `, ${Math.round((usage.vramBytes / usage.totalBytes) * 100)}% of the model's ${gib(usage.totalBytes)} GiB`
      : "";
  return `${gib(usage.vramBytes)} GiB${share} (${usage.source})`;
}

function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1);
}
