import { describe, expect, it } from "vitest";
import { TaskValidationError } from "../errors/errors.js";
import { parseTaskJson, taskFromFlags } from "./read-task.js";

const valid = {
  task_id: "t1",
  objective: "Add createContact",
  files: ["src/contact-service.ts"],
  acceptance: ["has tests"],
  constraints: { loc_max: 200, pack: "crm-data" },
};

describe("task protocol", () => {
  it("accepts a valid task", () => {
    expect(parseTaskJson(JSON.stringify(valid), "stdin")).toEqual(valid);
  });

  it.each([
    [{ ...valid, task_id: "" }, "task_id"],
    [{ ...valid, files: "src/a.ts" }, "files"],
    [{ ...valid, constraints: { loc_max: -3, pack: "" } }, "constraints.loc_max"],
    [{ ...valid, constraints: { pack: "" } }, "constraints.loc_max"],
    [{ ...valid, extra: 1 }, "extra"],
  ])("names the bad field %#", (task, field) => {
    const attempt = (): unknown => parseTaskJson(JSON.stringify(task), "task.json");
    expect(attempt).toThrow(TaskValidationError);
    expect(attempt).toThrow(field);
  });

  it("gives tasks from flags made in the same second (even the same millisecond) different ids that sort by time", () => {
    const at = new Date("2026-01-02T03:04:05.100Z");
    const ids = Array.from({ length: 50 }, () => taskFromFlags({ objective: "x" }, at).task_id);
    expect(new Set(ids).size).toBe(50);
    const later = taskFromFlags({ objective: "x" }, new Date("2026-01-02T03:04:05.101Z")).task_id;
    expect(ids.every((id) => id < later)).toBe(true);
  });

  it("rejects text that is not JSON, and empty input, with a hint", () => {
    expect(() => parseTaskJson("{nope", "stdin")).toThrow(/not valid JSON/);
    expect(() => parseTaskJson("  ", "stdin")).toThrow(/empty/);
  });

  it("builds a task from flags with defaults", () => {
    const task = taskFromFlags({ objective: "Do it", files: ["a.ts"] }, new Date("2026-01-02T03:04:05.678Z"));
    expect(task).toEqual({
      task_id: expect.stringMatching(/^task-20260102030405678-[0-9a-f]{8}$/),
      objective: "Do it",
      files: ["a.ts"],
      acceptance: [],
      constraints: { loc_max: 200, pack: "" },
    });
  });
});
