/** The text with runs of whitespace collapsed to one space, trimmed. */
export function squeeze(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** How often each (lower-cased) word occurs, in order of first appearance. */
export function wordFrequencies(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of text.toLowerCase().matchAll(/[a-z0-9']+/g)) counts.set(match[0], (counts.get(match[0]) ?? 0) + 1);
  return counts;
}
