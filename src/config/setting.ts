/**
 * Where one setting can come from, highest precedence first. Each value is already parsed (an
 * environment variable checked and converted); undefined means that source does not set it.
 */
export interface SettingSources<T> {
  /** The command-line flag. */
  flag?: T;
  /** The environment variable. */
  env?: T;
  /** builder.config.json (or a legacy file below it). */
  file?: T;
}

/**
 * A setting by Builder's usual precedence: the flag, else the environment, else the config file, else
 * `fallback` (as the AI SDK's `loadOptionalSetting` reads a setting, else its environment variable).
 * Settings with other rules (the model, the workspace, the generation options) say so where they are read.
 */
export function loadSetting<T>(sources: SettingSources<T>, fallback: T): T {
  return sources.flag ?? sources.env ?? sources.file ?? fallback;
}
