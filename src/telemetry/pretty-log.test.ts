import { describe, expect, it } from "vitest";
import { colorAllowed, defaultLogFormat, formatLogLine } from "./pretty-log.js";

const LINE = JSON.stringify({
  level: "warn",
  time: "2026-12-02T00:17:21.045Z",
  msg: "num_thread: 16 is more than 2 cores",
  pack: "crm_pack",
});

describe("pretty log lines", () => {
  it("show the run metrics line as one short summary, not twenty key=value fields", () => {
    const metrics = JSON.stringify({
      level: "info",
      time: "2026-12-02T17:40:50.222Z",
      event: "run",
      run_id: "20261202T174044-f4bc0e",
      task_id: "test",
      backend: "ollama",
      model: "qwen2.5-coder:32b-instruct-q5_K_M",
      load_ms: 0,
      prompt_tokens: 1383,
      generated_tokens: 341,
      tokens_per_sec: 185.53,
      time_to_first_token_ms: 3167.51,
      total_ms: 5471.42,
      success: true,
      error: null,
      verdict: "UNVERIFIED",
      msg: "run metrics",
    });
    expect(formatLogLine(metrics, false)).toBe(
      "17:40:50 INFO  run metrics ollama qwen2.5-coder:32b-instruct-q5_K_M, 1383 → 341 tokens, 185.53 tok/s, first token 3168 ms, 5471 ms, UNVERIFIED\n",
    );
  });

  it("turn a JSON line into time, level, message and fields, coloured by level", () => {
    expect(formatLogLine(LINE, false)).toBe("00:17:21 WARN  num_thread: 16 is more than 2 cores pack=crm_pack\n");
    expect(formatLogLine(LINE, true)).toContain("\u001b[33mWARN ");
  });

  it("are the default on a terminal only, and NO_COLOR turns colour off", () => {
    expect(defaultLogFormat(true)).toBe("pretty");
    expect(defaultLogFormat(false)).toBe("json");
    expect(colorAllowed({ NO_COLOR: "1" })).toBe(false);
    expect(colorAllowed({})).toBe(true);
  });
});
