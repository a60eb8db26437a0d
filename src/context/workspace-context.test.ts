import { symlinkSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gitRepo } from "../test-support/git-repo.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { gatherWorkspaceContext } from "./workspace-context.js";

describe("gatherWorkspaceContext", () => {
  it("withholds a task file that is a link to a deny-listed file: its content never reaches the prompt", async () => {
    const root = gitRepo({ ".env": "SECRET=hunter2\n", "src/a.ts": "export const a = 1;\n" });
    symlinkSync(".env", path.join(root, "notes.txt"));
    const sandbox = await WorkspaceSandbox.open({ root });
    const context = await gatherWorkspaceContext(sandbox, {
      task_id: "t",
      objective: "Summarise the notes",
      files: ["notes.txt", "src/a.ts"],
      acceptance: [],
      constraints: { loc_max: 100, pack: "" },
    });
    expect(context.taskFiles[0]).toMatchObject({ path: "notes.txt", status: "withheld", withheld: "deny list: .env*" });
    expect(context.taskFiles[0]?.content).toBeUndefined();
    expect(context.taskFiles[1]).toMatchObject({
      path: "src/a.ts",
      status: "present",
      content: "export const a = 1;\n",
    });
    expect(JSON.stringify(context)).not.toContain("hunter2");
  });
});
