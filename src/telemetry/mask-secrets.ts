/**
 * Masks secrets in text before it reaches a log: key/value pairs whose key names a secret
 * (password, token, api key…), bearer tokens, well-known key formats and email addresses.
 */
/** Key names (after camelCase → snake_case) that hold secrets; `prompt_tokens` is a count, `access_token` a secret. */
const SECRET_KEY = /(^|_)(pass|passwd|password|secret|client_secret|token|api_key|apikey|authorization|auth|credentials?|private_key)$/;

const TEXT_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // key=value, key: value, "key": "value"
  [/(\b[\w-]*?(?:pass(?:word|wd)?|secret|token|api[-_]?key|apikey|authorization|credentials?)["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic)\s+)?([^\s"',;&]+)/gi, "$1***"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, "$1 ***"],
  [/\b(sk|pk|rk|ghp|gho|ghs|xox[abpr])[-_][A-Za-z0-9_-]{8,}/g, "***"],
  [/\bhf_[A-Za-z0-9]{10,}/g, "***"],
  [/\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g, "***@***"],
  // credentials inside URLs: scheme://user:pass@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, "$1***@"],
];

/** Returns `text` with every secret it recognises replaced by `***`. */
export function maskSecretsInText(text: string): string {
  let masked = text;
  for (const [pattern, replacement] of TEXT_PATTERNS) masked = masked.replace(pattern, replacement);
  return masked;
}

/** Deep-copies `value`, masking values under secret-named keys and secrets inside strings. */
export function maskSecrets<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === "string") return maskSecretsInText(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => maskSecrets(item, depth + 1)) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Error)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      out[key] = isSecretKey(key) && inner != null && inner !== "" ? "***" : maskSecrets(inner, depth + 1);
    }
    return out as T;
  }
  return value;
}

function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_").toLowerCase());
}
