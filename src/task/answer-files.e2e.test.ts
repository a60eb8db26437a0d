import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../test-support/cli.js";
import { sampleWorkspace, tempDir } from "../test-support/fixtures.js";
import { ollamaDone, ollamaPiece, ollamaShow, scriptedServer, type ScriptedServer } from "../test-support/scripted-server.js";

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An Ollama server that ignores the schema's file_path enum and answers with `filePath`. */
async function serverAnswering(filePath: string): Promise<ScriptedServer> {
  return scriptedServer((req, res) => {
    if (req.path === "/api/show") return ollamaShow(res, 4096);
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.end(ollamaPiece(JSON.stringify({ file_path: filePath, suggested_code: "export const pwned = 1;\n", explanation: "e", tests: "" })) + ollamaDone());
  });
}

describe("an answer's file_path must be one of the task's files, whatever the server sends", () => {
  for (const foreign of ["src/other.ts", "../../etc/passwd"]) {
    it(`a server answering ${foreign} fails the run with GENERATION_FAILED and nothing is written`, async () => {
      server = await serverAnswering(foreign);
      const workspace = sampleWorkspace("unused.gguf");
      const home = tempDir("builder-home-");
      const result = await runCli(["run", "tasks/create-contact.json", "--backend", "ollama", "--host", server.url, "--model", "m:latest", "--apply"], {
        cwd: workspace,
        env: { HOME: home, XDG_CACHE_HOME: home, OLLAMA_HOST: "", OLLAMA_MODEL: "" },
      });
      expect(server.requests.some((r) => r.path === "/api/chat"), "the scripted server was asked").toBe(true);
      expect(result.stdout).toBe("");
      expect(result.code).toBe(5);
      const error = jsonLines(result.stderr).find((line) => "error" in line && typeof line.error === "object")?.error as { code: string; message: string };
      expect(error.code).toBe("GENERATION_FAILED");
      expect(error.message).toMatch(/not one of the task's files \("src\/contact-service\.ts"\)/);
      expect(existsSync(path.join(workspace, "src/other.ts"))).toBe(false);
      expect(existsSync(path.join(workspace, "src/contact-service.ts"))).toBe(false);
    });
  }
});
