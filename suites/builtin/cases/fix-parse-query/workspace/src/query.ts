/** The key/value pairs of a query string. */
export function parseQuery(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of query.split("&")) {
    const [key, value] = part.split("=");
    if (key) out[key] = value ?? "";
  }
  return out;
}
