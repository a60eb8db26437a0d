import type { ContextExplanation } from "./assemble.js";

/** The human form of `--explain-context`: one line per part, included or dropped, with its tokens. */
export function formatExplanation(explanation: ContextExplanation): string {
  const e = explanation;
  const width = Math.max(5, ...e.parts.map((p) => String(p.tokens).length));
  const lines = [
    `── Context for task ${e.task_id} ──`,
    `  window ${e.context_size} tokens: prompt ${e.prompt_tokens}${e.exact ? "" : " (estimated)"} + ${e.reserved_for_answer} reserved for the answer${e.fits ? "" : " — DOES NOT FIT"}`,
    `  workspace: ${e.workspace.files} code files mapped (${e.workspace.parsed} parsed, ${e.workspace.cached} cached), ${e.workspace.excluded} paths excluded by the deny list / .gitignore, ${Math.round(e.workspace.ms)} ms`,
    ...e.parts.map(
      (p) => `  ${p.included ? "included" : "dropped "}  ${String(p.tokens).padStart(width)}  ${p.kind}: ${p.label}`,
    ),
    `  drop order: ${e.drop_order}`,
    "",
  ];
  return lines.join("\n");
}
