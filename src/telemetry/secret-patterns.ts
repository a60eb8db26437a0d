/**
 * Secret formats that are secrets wherever they appear, in logs and in code alike: each pattern is
 * specific enough (a vendor prefix and a fixed alphabet/length, or PEM armour) that identifiers,
 * type annotations and ordinary strings never match it. Both maskers apply these.
 */
export const TOKEN_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // PEM private keys: keep the armour so the text still reads as "a key was here"; no newline is
  // inserted, so a key inside a one-line string literal ("-----BEGIN…\n…") stays a valid literal.
  [/-----BEGIN ([A-Z0-9 ]*PRIVATE KEY[A-Z ]*)-----[\s\S]*?-----END \1-----/g, "-----BEGIN $1-----***-----END $1-----"],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, "***"],
  // JSON Web Tokens: base64url header "{"…" always starts with eyJ.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, "***"],
  // Google API keys.
  [/\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, "***"],
  // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained.
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/g, "***"],
  [/\bgithub_pat_[A-Za-z0-9_]{22,}/g, "***"],
  // Slack tokens.
  [/\bxox[baprs]-[A-Za-z0-9-]{10,}/g, "***"],
  // OpenAI / Anthropic keys, Stripe keys, Hugging Face tokens.
  [/\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}/g, "***"],
  [/\b[spr]k_(?:live|test)_[A-Za-z0-9]{10,}/g, "***"],
  [/\bhf_[A-Za-z0-9]{30,}/g, "***"],
];

/** Key names (after camelCase → snake_case) that hold secrets; `prompt_tokens` is a count, `access_token` a secret. */
const SECRET_NAME =
  /(^|_)(pass|passwd|password|passphrase|secret|client_secret|token|api_key|apikey|authorization|auth|credentials?|private_key|access_key|secret_key|signing_key)$/;

/** Whether a key or variable name names a secret: `apiKey`, `AWS_SECRET_ACCESS_KEY`, `x-api-key`, `csrfToken`. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(
    name
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .replace(/-/g, "_")
      .toLowerCase(),
  );
}

/** Applies `patterns` in order. */
export function applyPatterns(text: string, patterns: ReadonlyArray<readonly [RegExp, string]>): string {
  let masked = text;
  for (const [pattern, replacement] of patterns) masked = masked.replace(pattern, replacement);
  return masked;
}
