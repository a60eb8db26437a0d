import { describe, expect, it } from "vitest";
import { loadSetting } from "./setting.js";

describe("loadSetting", () => {
  it("takes the flag, else the environment, else the file, else the fallback", () => {
    expect(loadSetting({ flag: "flag", env: "env", file: "file" }, "default")).toBe("flag");
    expect(loadSetting({ env: "env", file: "file" }, "default")).toBe("env");
    expect(loadSetting({ file: "file" }, "default")).toBe("file");
    expect(loadSetting({}, "default")).toBe("default");
  });

  it("keeps a false or zero that a source set, instead of falling through", () => {
    expect(loadSetting({ flag: false, file: true }, true)).toBe(false);
    expect(loadSetting({ env: 0, file: 3 }, 5)).toBe(0);
  });
});
