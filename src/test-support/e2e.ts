import { afterAll, beforeAll } from "vitest";
import type { BackendName } from "../config/schema.js";
import { jsonLines, runCli, type CliResult } from "./cli.js";
import { sampleWorkspace, synthesizeTestModel, tempDir } from "./fixtures.js";
import { startServe, type ServeProcess } from "./serve.js";

/**
 * An environment that keeps a CLI run off the user's home, model cache and model-server variables, so
 * that only the test's flags pick the server and the model.
 */
export function isolatedEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: home, XDG_CACHE_HOME: home, OLLAMA_HOST: "", OLLAMA_MODEL: "", OPENAI_BASE_URL: "", ...extra };
}

/** `builder run tasks/create-contact.json --backend … --host … --model …` (the sample workspace's task). */
export function runSampleTask(
  server: { backend: Exclude<BackendName, "embedded">; serverUrl: string; model: string },
  extraArgs: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<CliResult> {
  const args = ["run", "tasks/create-contact.json", "--backend", server.backend, "--host", server.serverUrl];
  return runCli([...args, "--model", server.model, ...extraArgs], options);
}

/** What {@link useServedSampleWorkspace} sets up; read its fields inside tests (they are filled in beforeAll). */
export interface ServedSampleWorkspace {
  /** `builder serve` on the synthesized model, under the name `tiny:test`. */
  serve: ServeProcess;
  /** The sample workspace (config, knowledge, the create-contact task) on the same model. */
  workspace: string;
  /** A fresh home and cache folder for the CLI runs. */
  home: string;
}

/**
 * Registers the set-up most backend e2e tests share: one synthesized model, the sample workspace on it
 * (num_predict 900, num_ctx 4096), a fresh home, and `builder serve --name tiny:test` for the whole
 * file, stopped after it.
 */
export function useServedSampleWorkspace(): ServedSampleWorkspace {
  const setup = {} as ServedSampleWorkspace;
  beforeAll(async () => {
    const modelPath = await synthesizeTestModel();
    setup.workspace = sampleWorkspace(modelPath, { num_predict: 900, num_ctx: 4096 });
    setup.home = tempDir("builder-home-");
    setup.serve = await startServe(modelPath, ["--name", "tiny:test"]);
  });
  afterAll(async () => {
    await setup.serve?.stop();
  });
  return setup;
}

/** What {@link useSynthesizedModel} sets up; read its fields inside tests (they are filled in beforeAll). */
export interface SynthesizedModelSetup {
  /** The tiny synthesized GGUF model. */
  modelPath: string;
  /** A fresh home and cache folder for the CLI runs. */
  home: string;
}

/**
 * Registers the set-up of e2e tests that run the embedded engine: one synthesized model and a fresh
 * home, for the whole file.
 */
export function useSynthesizedModel(): SynthesizedModelSetup {
  const setup = {} as SynthesizedModelSetup;
  beforeAll(async () => {
    setup.modelPath = await synthesizeTestModel();
    setup.home = tempDir("builder-cache-");
  });
  return setup;
}

/** The structured error a failed CLI run logged on stderr (its `error` object), if any. */
export function loggedError(stderr: string): { code: string; message: string; details: Record<string, unknown> } {
  return jsonLines(stderr).find((line) => "error" in line && typeof line.error === "object")?.error as {
    code: string;
    message: string;
    details: Record<string, unknown>;
  };
}
