import path from "node:path";
import { formatTable } from "../format/table.js";
import { formatBytes } from "../format/numbers.js";
import type { ModelListing, RecommendationListing } from "./model-listing.js";

/** `builder models` for a terminal. */
export function formatModelListing(listing: ModelListing): string {
  const lines = [memoryLine(listing.memory, listing.num_ctx, listing.kv_cache_type)];
  if (listing.ollama_error) lines.push(`Ollama tags unavailable: ${listing.ollama_error}`);
  if (listing.models.length === 0) {
    lines.push("No local models found. `builder models --recommend` suggests one for this machine.");
    return lines.join("\n") + "\n";
  }
  const rows = listing.models.map((model) => [
    model.configured ? "*" : "",
    model.source,
    model.source === "gguf" ? shortPath(model.name) : model.name,
    formatBytes(model.size_bytes),
    model.quantization ?? "?",
    model.context_length !== undefined ? String(model.context_length) : "?",
    model.error ? `unreadable: ${model.error}` : fitText(model.fit),
  ]);
  lines.push(
    "",
    formatTable(["", "source", "model", "size", "quant", "context", "fits"], rows, [
      "left",
      "left",
      "left",
      "right",
      "left",
      "right",
      "left",
    ]).trimEnd(),
  );
  lines.push(
    "",
    "* = the configured model. fits = weights + KV cache at num_ctx + 1 GiB margin within the memory above.",
  );
  return lines.join("\n") + "\n";
}

/** `builder models --recommend` for a terminal. */
export function formatRecommendations(listing: RecommendationListing): string {
  const lines = [memoryLine(listing.memory, listing.num_ctx, listing.kv_cache_type)];
  if (!listing.memory) {
    lines.push("The model runs on a remote server; its memory is not visible from here, so nothing can be ranked.");
    return lines.join("\n") + "\n";
  }
  const rows = listing.recommendations.map((r, i) => [
    r.fits ? String(i + 1) : "-",
    r.name,
    r.quant,
    `${r.size_gb.toFixed(1)} GB`,
    (r.fits
      ? `yes (${formatBytes(r.total_bytes)})`
      : r.max_num_ctx > 0
        ? `no: max num_ctx ${r.max_num_ctx}`
        : "no: weights too big") + (r.beyond_training ? `; beyond its trained ${r.trained_context ?? "?"}` : ""),
    r.ollama ?? "",
    r.hf ?? "",
  ]);
  lines.push(
    "",
    formatTable(["#", "model", "quant", "size", `fits at num_ctx ${listing.num_ctx}`, "ollama", "hf"], rows, [
      "right",
    ]).trimEnd(),
  );
  lines.push(
    "",
    `Sizes are the published GGUF files' (built-in table as of ${listing.catalog_as_of}; add models under models.catalog in builder.config.json).` +
      (listing.memory.kind === "ram"
        ? " Without a GPU every model runs on the CPU: smaller ones answer much faster."
        : ""),
  );
  return lines.join("\n") + "\n";
}

function memoryLine(memory: ModelListing["memory"], numCtx: number | undefined, cacheType: string): string {
  const context =
    numCtx !== undefined ? `num_ctx ${numCtx}` : "num_ctx unset (each model at min(8192, its trained context))";
  return memory
    ? `Memory: ${formatBytes(memory.bytes)} of ${memory.label}; ${context}; KV cache ${cacheType}.`
    : `Memory: not visible (remote server); ${context}.`;
}

function fitText(fit: ModelListing["models"][number]["fit"]): string {
  if (!fit) return "?";
  if (fit.fits) return `yes at ${fit.num_ctx} (max ${fit.max_num_ctx})`;
  return fit.max_num_ctx > 0 ? `no at ${fit.num_ctx} (max ${fit.max_num_ctx})` : "no: weights too big";
}

function shortPath(file: string): string {
  const home = process.env.HOME;
  return home && file.startsWith(home + path.sep) ? `~${file.slice(home.length)}` : file;
}
