/**
 * Masks secrets in text before it reaches a log: key/value pairs whose key names a secret
 * (password, token, api key…), bearer tokens, well-known key formats and email addresses.
 * Logs may over-mask; code stored as training data goes through {@link maskSecretsInCode} instead,
 * which must keep the code compiling.
 */
import { maskProseSecrets } from "./mask-prose-secrets.js";
import { maskSecretsInCode } from "./mask-secrets-in-code.js";
import { applyPatterns, isSecretName } from "./secret-patterns.js";

/** Looser patterns applied after the code masker (which already took token formats and PEM blocks whole). */
const LOG_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // key=value, key: value, "key": "value"; `secret` may be followed by more name (AWS_SECRET_ACCESS_KEY)
  [
    /(\b[\w-]*?(?:pass(?:word|wd)?|secret[\w-]*|token|api[-_]?key|apikey|(?:access|private)[-_]?key|authorization|credentials?)["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic)\s+)?([^\s"',;&]+)/gi,
    "$1***",
  ],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, "$1 ***"],
  [/\b(sk|pk|rk|ghp|gho|ghs|xox[abprs])[-_][A-Za-z0-9_-]{8,}/g, "***"],
  [/\bhf_[A-Za-z0-9]{10,}/g, "***"],
  [/\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g, "***@***"],
  // credentials inside URLs: scheme://user:pass@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, "$1***@"],
];

/** Returns `text` with every secret it recognises replaced by `***`; for logs, where over-masking is fine. */
export function maskSecretsInText(text: string): string {
  return applyPatterns(maskProseSecrets(maskSecretsInCode(text)), LOG_PATTERNS);
}

/** Deep-copies `value` for a log, masking values under secret-named keys and secrets inside strings. */
export function maskSecrets<T>(value: T): T {
  return maskDeep(value, maskSecretsInText, 0);
}

/**
 * Deep-copies `value` for storage as training data: values under secret-named keys are masked, and
 * strings (code, prompts) go through {@link maskSecretsInCode} and the prose masker the logs use
 * (emails, "password is …"), both of which leave code compiling.
 */
export function maskSecretsForTraining<T>(value: T): T {
  return maskDeep(value, maskTrainingText, 0);
}

/** The masking training text gets: secret values in code, then secrets in prose and email addresses. */
export function maskTrainingText(text: string): string {
  return maskProseSecrets(maskSecretsInCode(text));
}

function maskDeep<T>(value: T, maskText: (text: string) => string, depth: number): T {
  if (depth > 8) return value;
  if (typeof value === "string") return maskText(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => maskDeep(item, maskText, depth + 1)) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Error)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      out[key] = isSecretName(key) && inner != null && inner !== "" ? "***" : maskDeep(inner, maskText, depth + 1);
    }
    return out as T;
  }
  return value;
}
