import type { SourceDiagnostic, TypeScriptProject } from "./ts-project.js";
import { formatDiagnostic, type CheckResult } from "./types.js";

/** The edited files of one round, by absolute path in the scratch copy: new content and original content (null: absent). */
export interface EditedFiles {
  current: ReadonlyMap<string, string | null>;
  original: ReadonlyMap<string, string | null>;
}

/**
 * Typechecks the edited files with the workspace's own tsconfig, and the files that import them:
 * an importer fails only on errors it did not have before the edit (its baseline is computed once,
 * by switching the overlay back to the original content).
 */
export class TypecheckRunner {
  private readonly baselines = new Map<string, Set<string>>();

  constructor(private readonly project: TypeScriptProject) {}

  check(files: EditedFiles): CheckResult {
    const started = performance.now();
    this.project.setFiles(files.current);
    const diagnostics: SourceDiagnostic[] = [];
    const notes: string[] = [];
    const checked: string[] = [];
    for (const [file, content] of files.current) {
      if (content === null || !/\.[cm]?tsx?$/.test(file)) continue;
      if (!this.project.covers(file)) {
        notes.push(
          `${this.project.relative(file)} is not included by ${this.project.relative(this.project.configPath)}, so it was not typechecked.`,
        );
        continue;
      }
      checked.push(file);
      diagnostics.push(...this.project.diagnosticsOf(file));
    }
    const importers = new Set(
      checked.flatMap((file) => this.project.importersOf(file)).filter((file) => !files.current.has(file)),
    );
    for (const importer of importers) {
      const now = this.project.diagnosticsOf(importer);
      if (now.length === 0) continue;
      const before = this.baseline(importer, files);
      diagnostics.push(...now.filter((d) => !before.has(key(d))));
    }
    const lines = diagnostics.map(formatDiagnostic);
    const what = `${checked.length} changed file(s) and ${importers.size} importer(s) with ${this.project.relative(this.project.configPath)}`;
    return {
      name: "typecheck",
      status: checked.length === 0 && lines.length === 0 ? "skipped" : lines.length === 0 ? "passed" : "failed",
      durationMs: performance.now() - started,
      diagnostics: lines,
      summary:
        checked.length === 0
          ? "no changed TypeScript file is covered by the tsconfig"
          : lines.length === 0
            ? `no errors in ${what}`
            : `${lines.length} error(s) in ${what}`,
      notes,
    };
  }

  private baseline(importer: string, files: EditedFiles): Set<string> {
    const known = this.baselines.get(importer);
    if (known) return known;
    this.project.setFiles(files.original);
    const before = new Set(this.project.diagnosticsOf(importer).map(key));
    this.project.setFiles(files.current);
    this.baselines.set(importer, before);
    return before;
  }
}

function key(d: SourceDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;
}
