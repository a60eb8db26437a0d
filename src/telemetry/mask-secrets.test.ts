import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { maskSecrets, maskSecretsInText, maskTrainingText } from "./mask-secrets.js";

describe("secret masking", () => {
  it.each([
    ["password=hunter2 next", "password=*** next"],
    ['"api_key": "abcd1234efgh"', '"api_key": "***"'],
    ["Authorization: Bearer abc.def.ghi123", "Authorization: ***"],
    ["mail alice@example.com now", "mail ***@*** now"],
    ["key sk-1234567890abcdef end", "key *** end"],
    ["http://user:s3cret@host:1/x", "http://user:***@host:1/x"],
  ])("masks %s", (input, expected) => {
    expect(maskSecretsInText(input)).toBe(expected);
  });

  it("masks values under secret-named keys at any depth", () => {
    expect(maskSecrets({ a: { apiKey: "xyz", token: "t", access_token: "u", ok: "fine" } })).toEqual({
      a: { apiKey: "***", token: "***", access_token: "***", ok: "fine" },
    });
  });

  it("leaves token counts alone", () => {
    const metrics = { prompt_tokens: 12, generated_tokens: 3, tokens_per_sec: 4.5, tokensPerSecond: { "1": 2 } };
    expect(maskSecrets(metrics)).toEqual(metrics);
    expect(maskSecretsInText('{"prompt_tokens":12}')).toBe('{"prompt_tokens":12}');
    expect(maskSecretsInText("access_token=abc123")).toBe("access_token=***");
  });

  it("never lets a secret reach the log output", () => {
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done): void {
        out += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ level: "info", destination: sink });
    logger.info({ config: { password: "p4ss", host: "h" } }, "user bob@corp.io logged in with token=abcdef123");
    expect(out).not.toMatch(/p4ss|bob@corp\.io|abcdef123/);
    expect(out).toContain('"host":"h"');
  });
});

describe("prose secrets in logs", () => {
  it("masks 'password is/was/:' phrases and emails, and leaves code-like values alone", () => {
    expect(maskSecretsInText("the password is Hunter2-S3cret! ok")).toBe("the password is *** ok");
    expect(maskSecretsInText("my old password was hunter22")).toBe("my old password was ***");
    expect(maskSecretsInText("write to bob@corp.example")).toBe("write to ***@***");
    expect(maskTrainingText("function f(password: unknown): password is string")).toBe(
      "function f(password: unknown): password is string",
    );
    expect(maskTrainingText("the password is Hunter2-S3cret!, mail bob@corp.example")).toBe(
      "the password is ***, mail ***@***",
    );
  });
});
