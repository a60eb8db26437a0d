/**
 * Model references as the config writes them: a GGUF path, an `hf:` / `https:` URI, or a server-side
 * name. Kept apart from the loader so that models and doctor can ask without importing it.
 */

/** True for references that name a file on disk rather than a URI, URL or server-side model name. */
export function isLocalPathRef(ref: string): boolean {
  return !/^(hf:|huggingface:|https?:\/\/)/i.test(ref);
}
