import { readFile } from "node:fs/promises";
import path from "node:path";
import { ConfigError, TaskValidationError } from "../errors/errors.js";
import { getLogger } from "../telemetry/logger.js";

/** One knowledge file placed in the prompt. */
export interface KnowledgeSection {
  /** Path relative to the config folder, as shown to the model. */
  label: string;
  content: string;
  /** True for files that come from the task's context pack (the budget may drop them); false for the knowledge base. */
  fromPack?: boolean;
}

/** Reads the knowledge base and the named context pack. `pack` "" (or "default" when undefined) means none. */
export async function loadPriming(
  knowledge: readonly string[],
  packs: Readonly<Record<string, readonly string[]>>,
  packName: string,
  baseDir: string,
): Promise<KnowledgeSection[]> {
  const packFiles = resolvePack(packs, packName);
  const files = [...knowledge, ...packFiles.filter((f) => !knowledge.includes(f))];
  return Promise.all(
    files.map(async (file) => {
      try {
        const fromPack = !knowledge.includes(file);
        return { label: path.relative(baseDir, file).split(path.sep).join("/"), content: await readFile(file, "utf8"), fromPack };
      } catch (error) {
        throw new ConfigError(
          `Knowledge file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Fix the path in builder.config.json.`,
          { path: file },
        );
      }
    }),
  );
}

function resolvePack(packs: Readonly<Record<string, readonly string[]>>, packName: string): readonly string[] {
  const name = packName.trim();
  if (name === "") return [];
  const pack = packs[name];
  if (pack) return pack;
  if (name === "default") return [];
  const available = Object.keys(packs);
  if (available.length === 0) return packAsLabel(name);
  throw new TaskValidationError(
    `constraints.pack: no context pack named "${name}". ${available.length > 0 ? `Configured packs: ${available.join(", ")}.` : "No packs are configured in builder.config.json."} Use "" for none.`,
    { pack: name, available },
  );
}

const labelsWarned = new Set<string>();

/**
 * With no packs configured at all, a task's pack name is a label (seed tasks say `"pack": "crm_pack"`
 * for a pack that lives elsewhere): warn once per name and go on without extra files. Once packs are
 * configured, an unknown name stays TASK_INVALID, which catches typos.
 */
function packAsLabel(name: string): readonly string[] {
  if (!labelsWarned.has(name)) {
    labelsWarned.add(name);
    getLogger().warn({ pack: name }, `constraints.pack "${name}" is used as a label: builder.config.json configures no context packs, so no pack files are added.`);
  }
  return [];
}
