import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { tempDir } from "../test-support/fixtures.js";
import { warnRunPitfalls } from "./run-warnings.js";

const cores = { physical: 2, logical: 4, source: "cpuinfo" as const };

describe("warnings a run gives that doctor already knows", () => {
  it("num_thread above the physical cores warns when a run starts, with the fix", () => {
    const config = loadConfig({
      cwd: tempDir(),
      env: { HOME: "/nonexistent-home" },
      overrides: { options: { num_thread: 16 } },
    });
    const lines = warnRunPitfalls(config, cores);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/num_thread: 16 is more than this machine's 2 physical cores.*at most 2/);
  });

  it("says nothing for a sensible count, or for a remote server whose cores are not these", () => {
    expect(
      warnRunPitfalls(
        loadConfig({ cwd: tempDir(), env: { HOME: "/nonexistent-home" }, overrides: { options: { num_thread: 2 } } }),
        cores,
      ),
    ).toEqual([]);
    const remote = loadConfig({
      cwd: tempDir(),
      env: { HOME: "/nonexistent-home" },
      overrides: { backend: "ollama", serverUrls: "http://gpu-box:11434", options: { num_thread: 16 } },
    });
    expect(warnRunPitfalls(remote, cores)).toEqual([]);
  });
});
