/**
 * A task file too large for the window is shown to the model in regions; an edit may quote only the
 * lines shown. The text format's grammar enforces that while the model writes; answers in JSON (Ollama,
 * OpenAI-compatible servers: a JSON schema cannot say it) are checked after parsing, and an edit that
 * quotes a line the model never saw is refused with {@link EDIT_QUOTES_UNSHOWN_LINES}, which a repair
 * round shows the model like any edit that does not apply.
 */

/** Lines of a file, 1-based and inclusive. */
export interface LineSpan {
  start: number;
  end: number;
}

/** The stable code of an edit that quotes (or rewrites) lines of a file the prompt did not show. */
export const EDIT_QUOTES_UNSHOWN_LINES = "EDIT_QUOTES_UNSHOWN_LINES";

/** Whether line `line` (1-based) of the file as read lies in one of the spans shown. */
export function isShownLine(shown: readonly LineSpan[], line: number): boolean {
  return shown.some((span) => line >= span.start && line <= span.end);
}

/** "3-5, 9, 12-40": runs of line numbers (sorted, 1-based) as spans. */
export function formatLines(lines: readonly number[]): string {
  const spans: LineSpan[] = [];
  for (const line of [...lines].sort((a, b) => a - b)) {
    const last = spans[spans.length - 1];
    if (last && line <= last.end + 1) last.end = Math.max(last.end, line);
    else spans.push({ start: line, end: line });
  }
  return formatSpans(spans);
}

function formatSpans(spans: readonly LineSpan[]): string {
  return spans.map((s) => (s.start === s.end ? `${s.start}` : `${s.start}-${s.end}`)).join(", ");
}

/** The repair round's message for edit `index` (0-based) whose SEARCH quotes `lines`, none of them shown. */
export function unshownQuoteMessage(index: number, lines: readonly number[], shown: readonly LineSpan[]): string {
  return (
    `edit ${index + 1}: ${EDIT_QUOTES_UNSHOWN_LINES}: its SEARCH quotes line(s) ${formatLines(lines)} of the file, which were not shown to you ` +
    `(the file is too large for the window; you were shown its outline and lines ${formatSpans(shown)}). ` +
    "Quote only lines from the regions shown, exactly as shown; lines outside them cannot be edited."
  );
}

/** The repair round's message for a change that writes a file shown in regions whole. */
export function wholeRewriteMessage(shown: readonly LineSpan[]): string {
  return (
    `${EDIT_QUOTES_UNSHOWN_LINES}: the change replaces the whole file, but you were shown only its outline and lines ${formatSpans(shown)} ` +
    "(the file is too large for the window). Edit it with SEARCH/REPLACE edits that quote lines from the regions shown."
  );
}
