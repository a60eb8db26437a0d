import { z } from "zod";

/** A coding task, as other agents and scripts send it (the adapter protocol). */
export const BuilderTaskSchema = z
  .object({
    task_id: z.string().trim().min(1, "must be a non-empty string"),
    objective: z.string().trim().min(1, "must describe what to build"),
    files: z.array(z.string().trim().min(1, "file paths must be non-empty")),
    acceptance: z.array(z.string().trim().min(1, "acceptance criteria must be non-empty")),
    constraints: z
      .object({
        loc_max: z.number().int("must be a whole number").positive("must be positive"),
        pack: z.string(),
      })
      .strict(),
  })
  .strict();

export type BuilderTask = z.infer<typeof BuilderTaskSchema>;

/** How a check ended. */
export const CheckStatusSchema = z.enum(["passed", "failed", "skipped"]);

/** One verification check (typecheck, rules, tests…). */
export const VerificationCheckSchema = z.object({
  name: z.string(),
  status: CheckStatusSchema,
  duration_ms: z.number().optional(),
  count: z.number().int().optional(),
  diagnostics: z.array(z.string()).optional(),
  /** One line on what the check did, or why it was skipped. */
  summary: z.string().optional(),
});

export type VerificationCheck = z.infer<typeof VerificationCheckSchema>;

/**
 * What Builder knows about a suggestion's correctness. `UNVERIFIED` means nothing was checked;
 * only `VERIFIED` means every enabled check ran and passed.
 */
export const VerificationSchema = z.object({
  verdict: z.enum(["UNVERIFIED", "VERIFIED", "FAILED"]),
  summary: z.string(),
  produced_by: z.object({ backend: z.string(), model: z.string() }),
  checks: z.array(VerificationCheckSchema),
  notes: z.array(z.string()),
  /** Repair rounds used after the first answer (absent when nothing was verified). */
  repair_rounds: z.number().int().optional(),
});

export type Verification = z.infer<typeof VerificationSchema>;

/**
 * One file a suggestion changes, in the output protocol: the model's edits (empty for whole contents
 * and deletions) and the complete new content (null: the file is deleted).
 */
export const ChangeOutputSchema = z.object({
  path: z.string().min(1),
  action: z.enum(["edit", "create", "delete"]),
  edits: z.array(z.object({ search: z.string(), replace: z.string() })),
  content: z.string().nullable(),
});

export type ChangeOutput = z.infer<typeof ChangeOutputSchema>;

/**
 * The part of a suggestion that comes from the model's answer: the primary file's complete new
 * content, the explanation, the test file's content, and every file change (`changes`).
 */
export const ModelAnswerSchema = z.object({
  file_path: z.string(),
  suggested_code: z.string(),
  explanation: z.string(),
  tests: z.string(),
  changes: z.array(ChangeOutputSchema).optional(),
});

export type ModelAnswer = z.infer<typeof ModelAnswerSchema>;

/**
 * SHA-256 (hex) of each workspace file as Builder read it when it built the prompt, keyed by
 * workspace-relative path; null when the file did not exist. Applying refuses files that changed since.
 */
export const BaseHashesSchema = z.record(z.string(), z.string().nullable());

/** Builder's result: the model's answer plus Builder's honest verification report. */
export const CodeSuggestionSchema = ModelAnswerSchema.extend({
  verification: VerificationSchema,
  base_hashes: BaseHashesSchema.optional(),
});

export type CodeSuggestion = z.infer<typeof CodeSuggestionSchema>;
