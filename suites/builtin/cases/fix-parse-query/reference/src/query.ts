/** The key/value pairs of a query string, URL-decoded ("+" is a space); a leading "?" is ignored. */
export function parseQuery(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  const decode = (text: string): string => decodeURIComponent(text.replace(/\+/g, " "));
  for (const part of query.replace(/^\?/, "").split("&")) {
    if (part === "") continue;
    const at = part.indexOf("=");
    const key = decode(at < 0 ? part : part.slice(0, at));
    if (key) out[key] = at < 0 ? "" : decode(part.slice(at + 1));
  }
  return out;
}
