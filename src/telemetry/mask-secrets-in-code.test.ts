import ts from "typescript";
import { describe, expect, it } from "vitest";
import { maskSecrets, maskSecretsForTraining, maskSecretsInText } from "./mask-secrets.js";
import { maskSecretsInCode } from "./mask-secrets-in-code.js";

const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const PEM_BODY = "MIIEowIBAAKCAQEA7bq0pN1xY2sRqLmZ8e9WmS0kQ3\nXr4Vb1aQz8oP2nJ5Kt";
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----`;
const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
const GOOGLE = "AIzaSyA1234567890abcdefghijklmnopqrstuv";
const GITHUB = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
const GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz";
const SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";

/** [input, what must not survive]; the same cases go through both maskers. */
const MUST_MASK: ReadonlyArray<readonly [string, string]> = [
  [`AWS_SECRET_ACCESS_KEY = "${AWS_SECRET}"`, AWS_SECRET],
  [`const keyId = "${AWS_KEY_ID}";`, AWS_KEY_ID],
  [`const key = \`${PEM}\`;`, PEM_BODY.split("\n")[1]],
  [`const key = "${PEM.replace(/\n/g, "\\n")}";`, "MIIEowIBAAKCAQEA"],
  [`fetch(url, { headers: { cookie: "session=${JWT}" } });`, JWT.split(".")[2]],
  [`const maps = new Maps("${GOOGLE}");`, GOOGLE],
  [`git clone https://${GITHUB}@github.com/o/r`, GITHUB],
  [`const gh = new Octokit({ auth: process.env.X ?? "${GITHUB_PAT}" });`, GITHUB_PAT],
  [`slack.post("${SLACK}", text);`, SLACK],
  [`const config = { apiKey: "abcd1234efgh", user: "bob" };`, "abcd1234efgh"],
  [`{"api_key": "abcd1234efgh"}`, "abcd1234efgh"],
  [`password = 'hunter2'`, "hunter2"],
  [`const clientSecret: string = "s3cr3t-value";`, "s3cr3t-value"],
  [`GITHUB_TOKEN=abc123def456`, "abc123def456"],
  [`export DB_PASSWORD=pa55word\nOTHER=1`, "pa55word"],
  [`curl -H "Authorization: Bearer abc.def.ghi123" https://api`, "abc.def.ghi123"],
  [`const db = "postgres://admin:S3cretPw@db.local:5432/app";`, "S3cretPw"],
  [`Connect with password=hunter2 to the CRM`, "hunter2"],
];

/** TypeScript that holds no secret and must come out of the code masker byte for byte. */
const MUST_NOT_TOUCH: readonly string[] = [
  "interface Login { password: string; apiKey: string }",
  "const token = createToken(user);",
  "function login(password: string): boolean {\n  return password.length > 0;\n}",
  'const fixture = { name: "Alice", email: "alice@example.com" };',
  "export const owner = 'alice@example.com';",
  "if (password === \"\") throw new Error('empty');",
  "const auth = { token, expiresIn: 3600 };",
  "const headers = { Authorization: `Bearer ${token}` };",
  "const url = `https://${user}:${password}@${host}/db`;",
  "const usage = { prompt_tokens: 12, max_tokens: 256 };",
  'const verify = (token: string): boolean => token.startsWith("v1.");',
  "token = next.value;",
];

describe("secret masking for code kept as training data", () => {
  it.each(MUST_MASK)("code masker masks %s", (input, secret) => {
    const masked = maskSecretsInCode(input);
    expect(masked).not.toContain(secret);
    expect(masked).toContain("***");
  });

  it.each(MUST_MASK)("log masker masks %s", (input, secret) => {
    expect(maskSecretsInText(input)).not.toContain(secret);
  });

  it.each(MUST_NOT_TOUCH)("code masker leaves %s alone", (code) => {
    expect(maskSecretsInCode(code)).toBe(code);
  });

  it("masks only the value, keeping names, quotes and the PEM armour", () => {
    expect(maskSecretsInCode(`const cfg = { password: "hunter2", "x-api-key": 'k3y' };`)).toBe(
      `const cfg = { password: "***", "x-api-key": '***' };`,
    );
    expect(maskSecretsInCode(`AWS_SECRET_ACCESS_KEY = "${AWS_SECRET}"`)).toBe('AWS_SECRET_ACCESS_KEY = "***"');
    expect(maskSecretsInCode(PEM)).toBe("-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----");
  });

  it("keeps a real TypeScript module free of syntax errors after masking", () => {
    const source = [
      "interface Credentials { password: string; apiKey: string }",
      `const AWS_SECRET_ACCESS_KEY = "${AWS_SECRET}";`,
      `const key = "${PEM.replace(/\n/g, "\\n")}";`,
      `const jwt: string = "${JWT}";`,
      "export function login(password: string): boolean {",
      "  const token = createToken(password);",
      '  return token.length > 0 && "alice@example.com".includes("@");',
      "}",
      "declare function createToken(p: string): string;",
      "export const all = [AWS_SECRET_ACCESS_KEY, key, jwt];",
    ].join("\n");
    const masked = maskSecretsInCode(source);
    for (const secret of [AWS_SECRET, "MIIEowIBAAKCAQEA", JWT]) expect(masked).not.toContain(secret);
    expect(masked).toContain("function login(password: string): boolean {");
    const output = ts.transpileModule(masked, {
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022 },
    });
    expect(output.diagnostics ?? []).toEqual([]);
  });

  it("masks values under secret-named keys and emails in training records, inside the string literal so the code stays valid", () => {
    const record = { token: "t0k", answer: { code: "const owner = 'alice@example.com';" } };
    expect(maskSecretsForTraining(record)).toEqual({ token: "***", answer: { code: "const owner = '***@***';" } });
    expect(maskSecrets(record).answer.code).toBe("const owner = '***@***';");
  });
});
