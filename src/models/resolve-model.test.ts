import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ModelError } from "../errors/errors.js";
import { tempDir } from "../test-support/fixtures.js";
import { localModelProblem, resolveModelPath } from "./resolve-model.js";

describe("a local model reference that is not a GGUF file", () => {
  const cacheDir = tempDir("builder-cache-");

  it("a folder: says it is a folder and names the .gguf files inside it", async () => {
    const dir = tempDir("builder-models-");
    writeFileSync(path.join(dir, "qwen.gguf"), "GGUF");
    const error = await resolveModelPath(dir, { cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).code).toBe("MODEL_NOT_FOUND");
    expect((error as ModelError).message).toMatch(/is a folder, not a GGUF file.*qwen\.gguf/);
    expect((error as ModelError).message).not.toMatch(/does not exist/);
    mkdirSync(path.join(dir, "empty"));
    expect(localModelProblem(path.join(dir, "empty"))).toMatch(/is a folder.*holds no \.gguf file/);
  });

  it("/dev/zero: says it is not a regular file", async () => {
    const error = await resolveModelPath("/dev/zero", { cacheDir }).catch((e: unknown) => e);
    expect((error as ModelError).code).toBe("MODEL_NOT_FOUND");
    expect((error as ModelError).message).toMatch(/\/dev\/zero is not a regular file \(a device/);
  });

  it("a missing file: says it does not exist", async () => {
    expect(localModelProblem("/nonexistent/model.gguf")).toMatch(/does not exist/);
    expect(localModelProblem(path.join(tempDir(), "x.gguf"))).toMatch(/does not exist/);
  });
});
