import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeSyntheticGguf, type SyntheticModelOptions } from "../models/synthetic-gguf.js";

/** A fresh temporary folder. */
export function tempDir(prefix = "builder-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Writes files (relative path → content) under `root`. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(root, name);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

/** Synthesizes the tiny random model tests run on, in its own temp folder. */
export async function synthesizeTestModel(options: SyntheticModelOptions = {}): Promise<string> {
  const modelPath = path.join(tempDir("builder-model-"), "tiny.gguf");
  await writeSyntheticGguf(modelPath, { contextLength: 4096, ...options });
  return modelPath;
}

/** A valid sample task. */
export const SAMPLE_TASK = {
  task_id: "crm-001",
  objective: "Add createContact function with PostgreSQL → Elasticsearch sync",
  files: ["src/contact-service.ts"],
  acceptance: ["validates input", "has vitest tests"],
  constraints: { loc_max: 200, pack: "crm" },
} as const;

/** A workspace with a config, a knowledge base and a pack, pointing at `modelPath`. */
export function sampleWorkspace(modelPath: string, options: Record<string, unknown> = {}): string {
  const root = tempDir("builder-ws-");
  writeFiles(root, {
    "builder.config.json": JSON.stringify(
      {
        model: modelPath,
        // The random test model never stops by itself: bound its answers in the worst case. It fills
        // whatever num_predict allows, so 512 (room for the task's file and its test file) keeps each
        // run's generation at half the tokens of 1024.
        bounded_answer: true,
        knowledge: ["knowledge/project-context.md"],
        packs: { crm: ["knowledge/packs/crm.md"] },
        options: { num_ctx: 3072, num_predict: 512, num_thread: 1, ...options },
      },
      null,
      2,
    ),
    "knowledge/project-context.md": "# Project\nStrict TypeScript. No any. PostgreSQL then Elasticsearch.\n",
    "knowledge/packs/crm.md": "# CRM pack\nContacts live in table contacts(id, email).\n",
    "tasks/create-contact.json": JSON.stringify(SAMPLE_TASK),
  });
  return root;
}
