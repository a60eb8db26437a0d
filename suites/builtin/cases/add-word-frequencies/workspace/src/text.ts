/** The text with runs of whitespace collapsed to one space, trimmed. */
export function squeeze(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
