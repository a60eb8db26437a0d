import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { PathDeniedError, WorkspaceEscapeError } from "../errors/errors.js";
import { createLogger } from "../telemetry/logger.js";
import { tempDir } from "../test-support/fixtures.js";
import { gitRepo } from "../test-support/git-repo.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { loadPriming } from "./priming.js";

/** A workspace with its own knowledge file, and a folder outside it holding a secret note. */
async function setup(): Promise<{ root: string; outside: string; sandbox: WorkspaceSandbox }> {
  const root = gitRepo({
    "knowledge/project.md": "# Project\n",
    ".env": "SECRET=hunter2\n",
    "src/a.ts": "export const a = 1;\n",
  });
  const outside = tempDir("builder-outside-");
  writeFileSync(path.join(outside, "notes.md"), "OUTSIDE-NOTES\n");
  writeFileSync(path.join(outside, ".env"), "OUTSIDE_SECRET=1\n");
  return { root, outside, sandbox: await WorkspaceSandbox.open({ root }) };
}

const refusal = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/** Knowledge and pack files obey the task files' rules: inside the workspace, deny list applied, or an explicit allow-list. */
describe("loadPriming: knowledge and packs are sandboxed", () => {
  it("reads knowledge and pack files inside the workspace, labelled relative to the config folder", async () => {
    const { root, sandbox } = await setup();
    const sections = await loadPriming(
      [path.join(root, "knowledge/project.md")],
      { p: [path.join(root, "src/a.ts")] },
      "p",
      root,
      { sandbox },
    );
    expect(sections).toEqual([
      { label: "knowledge/project.md", content: "# Project\n", fromPack: false },
      { label: "src/a.ts", content: "export const a = 1;\n", fromPack: true },
    ]);
  });

  it("refuses ../outside, an absolute outside path and a link out with WORKSPACE_ESCAPE naming the config key and the file", async () => {
    const { root, outside, sandbox } = await setup();
    symlinkSync(path.join(outside, "notes.md"), path.join(root, "knowledge", "linked.md"));
    const relativeOut = path.join(root, "..", path.basename(outside), "notes.md");
    const cases: Array<[string[], Record<string, string[]>, string, string]> = [
      [[relativeOut], {}, "", "knowledge[0]"],
      [[], { crm: [path.join(root, "knowledge/project.md"), path.join(outside, "notes.md")] }, "crm", "packs.crm[1]"],
      [[path.join(root, "knowledge/linked.md")], {}, "", "knowledge[0]"],
    ];
    for (const [knowledge, packs, pack, key] of cases) {
      const error = await refusal(loadPriming(knowledge, packs, pack, root, { sandbox }));
      expect(error, key).toBeInstanceOf(WorkspaceEscapeError);
      expect((error as Error).message).toContain(key);
      expect((error as Error).message).toContain("knowledge_allow_outside");
      expect((error as Error).message).not.toContain("OUTSIDE-NOTES");
    }
  });

  it("refuses a deny-listed file (.env) with PATH_DENIED naming the key", async () => {
    const { root, sandbox } = await setup();
    const error = await refusal(loadPriming([path.join(root, ".env")], {}, "", root, { sandbox }));
    expect(error).toBeInstanceOf(PathDeniedError);
    expect((error as Error).message).toContain("knowledge[0]");
    expect((error as Error).message).toContain(".env");
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("reads outside files only under knowledge_allow_outside, logging each at info, and still applies the deny list there", async () => {
    const { root, outside, sandbox } = await setup();
    mkdirSync(path.join(outside, "sub"));
    writeFileSync(path.join(outside, "sub", "deep.md"), "DEEP\n");
    const stream = new PassThrough();
    let logged = "";
    stream.on("data", (chunk: Buffer) => (logged += chunk.toString()));
    const logger = createLogger({ level: "info", destination: stream });
    const sections = await loadPriming(
      [path.join(outside, "notes.md")],
      { x: [path.join(outside, "sub", "deep.md")] },
      "x",
      root,
      { sandbox, allowOutside: [outside], logger },
    );
    expect(sections.map((s) => s.content)).toEqual(["OUTSIDE-NOTES\n", "DEEP\n"]);
    const lines = logged
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { level: string; key: string; file: string });
    // The files are read concurrently: one info line each, in whichever order the reads finish.
    expect(lines.map((l) => [l.level, l.key, l.file]).sort()).toEqual([
      ["info", "knowledge[0]", path.join(outside, "notes.md")],
      ["info", "packs.x[0]", path.join(outside, "sub", "deep.md")],
    ]);
    await expect(
      loadPriming([path.join(outside, ".env")], {}, "", root, { sandbox, allowOutside: [outside], logger }),
    ).rejects.toBeInstanceOf(PathDeniedError);
    // An allow-listed folder does not open its neighbours.
    await expect(
      loadPriming([path.join(outside, "notes.md")], {}, "", root, {
        sandbox,
        allowOutside: [path.join(outside, "sub")],
      }),
    ).rejects.toBeInstanceOf(WorkspaceEscapeError);
  });
});
