import type { ContextExplanation } from "./assemble.js";

/** The human form of `--explain-context`: one line per part, included or dropped, with its tokens. */
export function formatExplanation(explanation: ContextExplanation): string {
  const e = explanation;
  const width = Math.max(5, ...e.parts.map((p) => String(p.tokens).length));
  const lines = [
    `── Context for task ${e.task_id} ──`,
    `  window ${e.context_size} tokens${windowOrigin(e)}: prompt ${e.prompt_tokens}${e.exact ? "" : " (estimated)"} + ${e.reserved_for_answer} reserved for the answer${e.fits ? "" : " — DOES NOT FIT"}`,
    `  workspace: ${e.workspace.files} code files mapped (${e.workspace.parsed} parsed, ${e.workspace.cached} cached), ${e.workspace.excluded} paths excluded by the deny list / .gitignore, ${Math.round(e.workspace.ms)} ms`,
    ...e.parts.flatMap((p) => [
      `  ${p.included ? "included" : "dropped "}  ${String(p.tokens).padStart(width)}  ${p.kind}: ${p.label}`,
      // A file too large for the window: which lines were shown, and why (edits may quote only these).
      ...(p.regions ?? []).map((r) => `            lines ${r.start}-${r.end}: ${r.reason}`),
    ]),
    `  drop order: ${e.drop_order}`,
    "",
  ];
  return lines.join("\n");
}

/** Why the window is the size it is: num_ctx auto's choice, or the real window beside a configured one that differs. */
function windowOrigin(e: ContextExplanation): string {
  if (e.requested_context_size === "auto")
    return ` (num_ctx auto: the smallest of 8K, 16K, 32K, 64K, 128K holding prompt and answer${e.auto_window_cap !== undefined ? `, at most ${e.auto_window_cap} here` : ""})`;
  if (e.requested_context_size !== undefined && e.requested_context_size !== e.context_size)
    return ` (configured num_ctx ${e.requested_context_size}; the engine or server gives ${e.context_size})`;
  return "";
}
