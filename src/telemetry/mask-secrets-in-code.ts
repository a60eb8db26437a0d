/**
 * Secret masking for code and prompts kept as training data. Unlike the log masker it masks only
 * secret-looking *values* and leaves everything the code needs to compile alone: type annotations
 * (`password: string`), identifiers, calls (`token = createToken(user)`) and email addresses stay.
 */
import { applyPatterns, isSecretName, TOKEN_PATTERNS } from "./secret-patterns.js";

/**
 * A string literal assigned to a name: `key = "…"`, `key: '…'`, `"key": "…"`, `key: Type = "…"`,
 * `key := "…"`. Groups: 1 everything before the literal, 3 the name, 4 the quote, 5 the content.
 * `==`, `===` and `=>` are not assignments.
 */
const QUOTED_ASSIGNMENT =
  /((?<![\w$])(["']?)([A-Za-z_$][\w$-]*)\2[ \t]*(?::[ \t]*[A-Za-z_$][\w$.<>[\]| \t]*?)?[ \t]*(?::=|[:=](?![=>]))[ \t]*)(["'`])((?:\\.|(?!\4)[^\\\r\n])+)\4/g;

/**
 * An unquoted value glued to its name by `=`, as in .env lines (`API_TOKEN=abc`), query strings and
 * prose (`password=hunter2`). Formatted code puts spaces around `=`, so this does not touch
 * `token = next`; a value running on into `(`, `.` or `[` is an expression and is left alone.
 */
const GLUED_ASSIGNMENT =
  /((?<![\w$.-])([A-Za-z_][\w-]*)=)(?![=>\s"'`$])([^\s"'`,;&()[\]{}<>.]+)(?=[\s"'`,;&)\]}<>]|$)/g;

const BEARER = /\bBearer\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}/g;

/** Credentials in URLs (`https://user:pass@host`); an interpolation (`${pass}`) is code, not a secret. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]+:)(?!\$\{)[^\s@/"'`]+@/gi;

/** Returns `text` (code or a prompt) with secret values replaced by `***`, keeping the code valid. */
export function maskSecretsInCode(text: string): string {
  let masked = applyPatterns(text, TOKEN_PATTERNS);
  masked = masked.replace(
    QUOTED_ASSIGNMENT,
    (whole: string, before: string, _q: string, name: string, quote: string, content: string) =>
      isSecretName(name) && content !== "***" && !(quote === "`" && content.includes("${"))
        ? `${before}${quote}***${quote}`
        : whole,
  );
  masked = masked.replace(GLUED_ASSIGNMENT, (whole: string, before: string, name: string, value: string) =>
    isSecretName(name) && value !== "***" ? `${before}***` : whole,
  );
  masked = masked.replace(BEARER, "Bearer ***");
  return masked.replace(URL_CREDENTIALS, "$1***@");
}
