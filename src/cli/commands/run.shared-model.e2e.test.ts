import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, tempDir } from "../../test-support/fixtures.js";

/** The real-tokenizer model kept beside the project (never in it); see ../shared/models/README.md. */
const SHARED_MODEL = fileURLToPath(new URL("../../../../shared/models/llama-2-tiny-random.gguf", import.meta.url));
const present = existsSync(SHARED_MODEL);
if (!present)
  process.stderr.write(
    `skipping shared-model tests: ${SHARED_MODEL} is absent (only present beside this project's own checkout)\n`,
  );

describe.skipIf(!present)("builder run on the shared llama-2 tiny model (real 32k tokenizer, no chat template)", () => {
  it("prints a schema-valid suggestion and counts prompt tokens with the real tokenizer", async () => {
    const workspace = sampleWorkspace(SHARED_MODEL, { num_ctx: 4096 });
    const cache = tempDir("builder-cache-");
    const result = await runCli(["run"], {
      cwd: workspace,
      stdin: JSON.stringify(SAMPLE_TASK),
      env: { XDG_CACHE_HOME: cache, HOME: cache },
    });
    expect(result.code, result.stderr).toBe(0);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout));
    expect(suggestion.file_path).toBe(SAMPLE_TASK.files[0]);
    const metrics = jsonLines(result.stderr).find((line) => line.msg === "run metrics");
    expect(metrics).toMatchObject({ success: true, model: SHARED_MODEL });
    expect(metrics?.prompt_tokens).toBeGreaterThan(50);
    expect(Number(metrics?.generated_tokens)).toBeGreaterThan(0);
  });
});
