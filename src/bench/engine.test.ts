import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEMO_PROJECT_DIR } from "../demo/run-demo.js";
import { readTaskFile } from "../task/read-task.js";
import { synthesizeTestModel, tempDir } from "../test-support/fixtures.js";
import { MARKERS } from "../answer/text-format.js";
import { benchConfig, builderRequest } from "./engine.js";

describe("the engine bench", () => {
  it("gives the raw side the request Builder sent: its prompt and the text answer format's GBNF grammar", async () => {
    const modelPath = await synthesizeTestModel();
    const task = await readTaskFile(path.join(DEMO_PROJECT_DIR, "tasks", "create-contact.json"));
    // One thread and a small bounded budget: this checks what is sent, not how fast.
    const sent = await builderRequest(benchConfig(modelPath, 1, 900, tempDir("builder-bench-engine-")), task);
    expect(sent.system).toContain(MARKERS.search);
    expect(sent.user).toContain(`## Task ${task.task_id}`);
    // The edit format's grammar (not a JSON schema's): its markers are literals of the grammar.
    expect(sent.grammar).toContain(MARKERS.replace);
  });
});
