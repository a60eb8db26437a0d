import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isolatedEnv, runSampleTask } from "../test-support/e2e.js";
import { sampleWorkspace, tempDir } from "../test-support/fixtures.js";
import {
  ollamaDone,
  ollamaPiece,
  ollamaShow,
  scriptedServer,
  type ScriptedServer,
} from "../test-support/scripted-server.js";

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An Ollama server that ignores the schema's path enum and always answers with a change to `filePath`. */
async function serverAnswering(filePath: string): Promise<ScriptedServer> {
  return scriptedServer((req, res) => {
    if (req.path === "/api/show") return ollamaShow(res, 4096);
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.end(
      ollamaPiece(
        JSON.stringify({
          changes: [{ path: filePath, action: "create", edits: [], content: "export const pwned = 1;\n" }],
          explanation: "e",
        }),
      ) + ollamaDone(),
    );
  });
}

describe("an answer's paths must be the task's files, whatever the server sends", () => {
  // A new file may go next to the task's files (src/); anywhere else is refused.
  for (const foreign of ["lib/other.ts", "../../etc/passwd"]) {
    it(`a server answering ${foreign} is sent back, fails the run (FAILED, exit 8) and nothing is written`, async () => {
      server = await serverAnswering(foreign);
      // 1024: a JSON answer without exact token counts has no bounded room at the fixture's 512 (a
      // scripted answer costs nothing to generate).
      const workspace = sampleWorkspace("unused.gguf", { num_predict: 1024 });
      const home = tempDir("builder-home-");
      const result = await runSampleTask({ backend: "ollama", serverUrl: server.url, model: "m:latest" }, ["--apply"], {
        cwd: workspace,
        env: isolatedEnv(home),
      });
      expect(
        server.requests.some((r) => r.path === "/api/chat"),
        "the scripted server was asked",
      ).toBe(true);
      expect(result.code, result.stderr).toBe(8);
      const suggestion = JSON.parse(result.stdout) as {
        verification: { verdict: string; checks: Array<{ name: string; diagnostics?: string[] }> };
      };
      expect(suggestion.verification.verdict).toBe("FAILED");
      const edits = suggestion.verification.checks.find((check) => check.name === "edits");
      expect(edits?.diagnostics?.join("\n")).toMatch(/not one of the task's files/);
      // The repair round told the model what was wrong; it answered the same, so the run failed.
      expect(server.requests.filter((r) => r.path === "/api/chat").length).toBeGreaterThan(1);
      expect(existsSync(path.join(workspace, "lib/other.ts"))).toBe(false);
      expect(existsSync(path.join(workspace, "src/contact-service.ts"))).toBe(false);
    });
  }
});
