import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BackendError } from "../errors/errors.js";
import { createLogger } from "../telemetry/logger.js";
import { reportFailure } from "./handle-error.js";

const KEY = "sk-proj-abcdefghijklmnop1234";

afterEach(() => vi.restoreAllMocks());

describe("secrets in failures", () => {
  it("masks an API key that a server quoted back in its error before it reaches stderr", () => {
    let written = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    });
    const code = reportFailure(
      new BackendError("BACKEND_ERROR", `The server answered 401: Incorrect API key provided: ${KEY}.`, {
        serverError: `Bearer ${KEY}`,
      }),
    );
    expect(code).toBe(6);
    expect(written).toContain("BACKEND_ERROR");
    expect(written).not.toContain(KEY);
  });

  it("masks secrets inside logged Error objects (message and stack)", () => {
    let logged = "";
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done): void {
        logged += chunk.toString();
        done();
      },
    });
    createLogger({ level: "info", destination: sink }).warn(
      { err: new Error(`endpoint down: ${KEY} for bob@example.com`) },
      "endpoint marked down",
    );
    expect(logged).toContain("endpoint marked down");
    expect(logged).not.toContain(KEY);
    expect(logged).not.toContain("bob@example.com");
  });

  it("on a terminal with readable logs, prints the error as one readable line, not raw JSON", () => {
    let written = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    });
    const code = reportFailure(new BackendError("BACKEND_UNAVAILABLE", "Ollama does not answer."), "pretty");
    expect(code).toBe(6);
    expect(written).toBe("Error BACKEND_UNAVAILABLE (exit 6): Ollama does not answer.\n");
  });
});
