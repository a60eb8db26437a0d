/**
 * Secrets written as prose ("the password is Hunter2-S3cret!", "token: a1b2-c3") and email addresses.
 * Both maskers apply this: logs, and training data, where it must leave code compiling. So a value
 * that reads as code is kept: `password: string`, `password: z.string().min(8)`, `token: input.token!`
 * and `password is string` (a type predicate) are types and expressions, not secrets. An email is
 * replaced inside the text it sits in (a string literal or a comment), so it cannot break code.
 */

/** A secret's name, then "is"/"was" (optionally with a colon) or a colon, then the value (a sentence's comma or full stop after it is kept). */
const PROSE_SECRET =
  /\b(pass(?:word|phrase|wd)?|pwd|pin|secret|api[ _-]?key|access[ _-]?key|token)(\s+(?:is|was)\s*:?\s+|\s*:\s+)([^\s"'`]{2,}[^\s"'`,;.])/gi;

/** A value that is code: an identifier or property chain, maybe called without arguments, indexed or asserted non-null. */
const CODE_LIKE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\(\)|\[\])?[!?]?[,;:)]*$/;

/** Characters that only an expression or a type contains: calls, generics, object and array literals, unions. */
const EXPRESSION_CHARS = /[(<{[|]/;

const EMAIL = /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g;

/** Returns `text` with prose secrets and email addresses replaced by `***`. */
export function maskProseSecrets(text: string): string {
  return text
    .replace(PROSE_SECRET, (whole: string, name: string, separator: string, value: string) =>
      isSecretValue(value, /\b(?:is|was)\b/i.test(separator)) ? `${name}${separator}***` : whole,
    )
    .replace(EMAIL, "***@***");
}

function isSecretValue(value: string, spokenSeparator: boolean): boolean {
  if (value.startsWith("***")) return false;
  if (CODE_LIKE.test(value)) {
    // "the password is hunter2" has a digit; "password is string" is a TypeScript type predicate.
    return spokenSeparator && /\d/.test(value) && !/^[A-Z]/.test(value);
  }
  return !EXPRESSION_CHARS.test(value) && !/^[-!.\d]/.test(value);
}
