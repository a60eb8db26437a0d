import { describe, expect, it } from "vitest";
import { colorAllowed, defaultLogFormat, formatLogLine } from "./pretty-log.js";

const LINE = JSON.stringify({
  level: "warn",
  time: "2026-12-02T00:17:21.045Z",
  msg: "num_thread: 16 is more than 2 cores",
  pack: "crm_pack",
});

describe("pretty log lines", () => {
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
