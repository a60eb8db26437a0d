import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

describe("the library entry point (package.json exports)", () => {
  it("resolves by the package's name and gives runTask, loadConfig, parseTask and the schemas", async () => {
    // A self-reference by name resolves only through "exports": what a caller's `import "local-builder"` gets.
    const script =
      "const m = await import('local-builder'); process.stdout.write(JSON.stringify(Object.keys(m).sort()));";
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
    });
    expect(JSON.parse(stdout)).toEqual(
      expect.arrayContaining([
        "runTask",
        "loadConfig",
        "parseTask",
        "BuilderTaskSchema",
        "CodeSuggestionSchema",
        "CancelledError",
      ]),
    );
  });
});
