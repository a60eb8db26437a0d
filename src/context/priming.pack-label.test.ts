import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TaskValidationError } from "../errors/errors.js";
import { tempDir } from "../test-support/fixtures.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { loadPriming } from "./priming.js";

describe("a task's context pack name", () => {
  it("is a label when no packs are configured at all (the seed's smoke test names crm_pack)", async () => {
    const dir = tempDir("builder-priming-");
    writeFileSync(path.join(dir, "kb.md"), "# knowledge\n");
    const sections = await loadPriming([path.join(dir, "kb.md")], {}, "crm_pack", dir, {
      sandbox: await WorkspaceSandbox.open({ root: dir }),
    });
    expect(sections.map((s) => s.label)).toEqual(["kb.md"]);
  });

  it("stays TASK_INVALID when packs are configured, so a typo is caught", async () => {
    const dir = tempDir("builder-priming-");
    writeFileSync(path.join(dir, "p.md"), "pack\n");
    await expect(
      loadPriming([], { "crm-data": [path.join(dir, "p.md")] }, "crm_pack", dir, {
        sandbox: await WorkspaceSandbox.open({ root: dir }),
      }),
    ).rejects.toBeInstanceOf(TaskValidationError);
  });
});
