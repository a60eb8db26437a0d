import { existsSync, readdirSync } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { packagePath } from "../package-root.js";
import { describeIssues } from "../errors/describe-issues.js";
import { TaskValidationError } from "../errors/errors.js";
import { CaseFileSchema, type CaseFile, type EvalCase } from "./case.js";

/**
 * The suites shipped with Builder live in `suites/` at the package root (not under src/, so that tsc
 * neither compiles nor typechecks their deliberately unfinished code).
 */
export const BUILTIN_SUITES_DIR = packagePath("suites");

/** A suite folder by name (`builtin`) or path: a name is looked up among the shipped suites first. */
export function resolveSuiteDir(nameOrPath: string): string {
  const shipped = path.join(BUILTIN_SUITES_DIR, nameOrPath);
  if (/^[a-z0-9-]+$/.test(nameOrPath) && existsSync(path.join(shipped, "cases"))) return shipped;
  return path.resolve(nameOrPath);
}

/** "Did you mean --suite builtin?" for a name close to a shipped suite's (a typo), else "". */
function shippedSuiteHint(dir: string): string {
  const name = path.basename(dir);
  let shipped: string[];
  try {
    shipped = readdirSync(BUILTIN_SUITES_DIR);
  } catch {
    return "";
  }
  const close = shipped.filter((suite) => editDistance(suite, name.toLowerCase()) <= 2);
  return close.length > 0 ? ` Did you mean --suite ${close.join(" or --suite ")} (shipped with Builder)?` : "";
}

/** Levenshtein distance (names are short). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Reads a suite: `common/` (optional: files every case's workspace starts with), `cases/<id>/case.json` (the task and the check command), `cases/<id>/workspace/`
 * (the starting files), `cases/<id>/hidden/` (tests placed in after the answer is applied) and,
 * optionally, `cases/<id>/reference/` (a known-good change, for `--validate`). Cases come sorted by id.
 */
export async function loadSuite(dir: string): Promise<EvalCase[]> {
  const casesDir = path.join(dir, "cases");
  let ids: string[];
  try {
    ids = (await readdir(casesDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such folder" : (code ?? (error as Error).message);
    throw new TaskValidationError(
      `Cannot read the eval suite ${dir}: ${why}.${shippedSuiteHint(dir)} A suite is a folder with cases/<id>/case.json, workspace/ and hidden/.`,
      { suite: dir },
    );
  }
  if (ids.length === 0)
    throw new TaskValidationError(`The eval suite ${dir} has no cases (cases/<id>/case.json).`, { suite: dir });
  const common = path.join(dir, "common");
  const shared = (await isDir(common)) ? common : undefined;
  return Promise.all(ids.map((id) => loadCase(path.join(casesDir, id), id, shared)));
}

async function loadCase(dir: string, id: string, common: string | undefined): Promise<EvalCase> {
  const source = path.join(dir, "case.json");
  let value: unknown;
  try {
    value = JSON.parse(await readFile(source, "utf8"));
  } catch (error) {
    throw new TaskValidationError(`Eval case ${source} is not readable JSON (${(error as Error).message}).`, {
      source,
    });
  }
  const parsed = CaseFileSchema.safeParse(value);
  if (!parsed.success)
    throw new TaskValidationError(`Eval case ${source} is invalid: ${describeIssues(parsed.error)}.`, { source });
  const workspace = path.join(dir, "workspace");
  if (!(await isDir(workspace)))
    throw new TaskValidationError(`Eval case ${dir} has no workspace/ folder.`, { source: dir });
  const hidden = await readTree(path.join(dir, "hidden"));
  if (hidden.length === 0)
    throw new TaskValidationError(`Eval case ${dir} has no hidden/ tests: without them nothing decides pass or fail.`, {
      source: dir,
    });
  const referenceDir = path.join(dir, "reference");
  return {
    id,
    task: parsed.data.task,
    workspace: { kind: "folder", dir: workspace, ...(common ? { common } : {}) },
    hidden,
    checkCommand: parsed.data.check,
    reference: (await isDir(referenceDir)) ? await readTree(referenceDir) : undefined,
  };
}

/** Every file under `root` (workspace-relative POSIX paths), sorted; empty when the folder is missing. */
async function readTree(root: string): Promise<CaseFile[]> {
  if (!(await isDir(root))) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
  return Promise.all(
    files.sort().map(async (file) => ({ path: file, content: await readFile(path.join(root, file), "utf8") })),
  );
}

async function isDir(dir: string): Promise<boolean> {
  return (await stat(dir).catch(() => undefined))?.isDirectory() ?? false;
}
