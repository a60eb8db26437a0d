import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors/errors.js";
import {
  STRUCTURE_TOKENS,
  WORST_CASE_TOKENS_PER_CHAR,
  answerBounds,
  answerJsonSchema,
  fieldsAtBound,
} from "./answer-schema.js";

const task = {
  task_id: "t",
  objective: "o",
  files: ["src/a.ts"],
  acceptance: [],
  constraints: { loc_max: 10, pack: "" },
};

describe("answer schema bounds", () => {
  it.each([1024, 1536, 4096, 32768])("any answer the grammar allows fits in num_predict=%i tokens", (numPredict) => {
    const bounds = answerBounds(numPredict, task.files);
    const filePathTokens = Math.max(...task.files.map((f) => f.length)) * WORST_CASE_TOKENS_PER_CHAR;
    const worstCase =
      STRUCTURE_TOKENS +
      filePathTokens +
      (bounds.suggested_code + bounds.tests + bounds.explanation) * WORST_CASE_TOKENS_PER_CHAR;
    expect(worstCase).toBeLessThanOrEqual(numPredict);
    expect(bounds.suggested_code).toBeGreaterThan(bounds.explanation);
  });

  it("restricts file_path to the task's files", () => {
    const schema = answerJsonSchema(task, 2048);
    expect(schema.properties.file_path.enum).toEqual(["src/a.ts"]);
    expect(schema.additionalProperties).toBe(false);
  });

  it("bounds a free file_path when the task names no files", () => {
    const schema = answerJsonSchema({ ...task, files: [] }, 2048);
    expect(schema.properties.file_path.maxLength).toBeGreaterThan(0);
  });

  it("refuses a num_predict too small for any answer, saying how much is needed", () => {
    expect(() => answerBounds(200, task.files)).toThrow(ConfigError);
    expect(() => answerBounds(200, task.files)).toThrow(/at least \d+/);
  });

  it("names a budget that really is enough, with or without a fixed file list", () => {
    for (const files of [task.files, []]) {
      let needed = 0;
      try {
        answerBounds(600, files);
      } catch (error) {
        needed = Number((error as ConfigError).details.needed);
      }
      expect(needed).toBeGreaterThan(600);
      expect(() => answerBounds(needed, files)).not.toThrow();
      expect(() => answerBounds(needed - 1, files)).toThrow(ConfigError);
    }
  });

  it("names the fields that used their whole bound", () => {
    const schema = answerJsonSchema(task, 1024);
    const full = "x".repeat(schema.properties.tests.maxLength ?? 0);
    expect(
      fieldsAtBound({ file_path: "src/a.ts", suggested_code: "ok", explanation: "", tests: full }, schema),
    ).toEqual(["tests"]);
  });
});
