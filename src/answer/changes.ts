import { z } from "zod";

/** One search/replace edit: `search` is a run of whole lines of the current file, `replace` what takes its place. */
export const SearchReplaceSchema = z.object({ search: z.string(), replace: z.string() });
export type SearchReplace = z.infer<typeof SearchReplaceSchema>;

/** What a change does to its file. */
export const ChangeActionSchema = z.enum(["edit", "create", "delete"]);
export type ChangeAction = z.infer<typeof ChangeActionSchema>;

/**
 * One file change as the model writes it: edits of an existing file, the whole content of a new (or
 * wholly rewritten) file, or its deletion. The test file is a change like any other.
 */
export const FileChangeSchema = z.object({
  path: z.string().min(1),
  action: ChangeActionSchema,
  edits: z.array(SearchReplaceSchema).optional(),
  content: z.string().optional(),
});
export type FileChange = z.infer<typeof FileChangeSchema>;

/** The model's answer: the changes, then what changed and why. */
export const AnswerChangesSchema = z.object({
  // Empty only where the task allows no change (it names no file): resolveChanges refuses it otherwise.
  changes: z.array(FileChangeSchema),
  explanation: z.string(),
});
export type AnswerChanges = z.infer<typeof AnswerChangesSchema>;

/** A change after Builder applied its edits to the file as it was read: the complete new content (null: deleted). */
export interface ResolvedChange {
  path: string;
  action: ChangeAction;
  /** The edits as the model wrote them (empty for whole-file content and deletions). */
  edits: SearchReplace[];
  /** The file's content when the prompt was built (null: it did not exist). */
  before: string | null;
  /** Its new content (null: deleted). */
  after: string | null;
}

/** How the model writes its answer: marker blocks under a grammar, or JSON under a schema. */
export const ANSWER_FORMATS = ["auto", "text", "json"] as const;
export type AnswerFormat = (typeof ANSWER_FORMATS)[number];

/** How existing files are changed: search/replace edits, or their whole new content. */
export const EDIT_MODES = ["auto", "search-replace", "whole"] as const;
export type EditMode = (typeof EDIT_MODES)[number];
