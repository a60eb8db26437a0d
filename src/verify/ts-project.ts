import { createHash } from "node:crypto";
import path from "node:path";
import ts from "typescript";

/** The workspace's tsconfig cannot be read or parsed. */
export class TsConfigProblem extends Error {}

/** A diagnostic reduced to what a person (or a model) needs: where and what. */
export interface SourceDiagnostic {
  /** Workspace-relative POSIX path, or "" for project-wide diagnostics. */
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

/**
 * The workspace's TypeScript project held in a LanguageService, kept alive between repair rounds so
 * that only the edited files are parsed again. Edited files live in an in-memory overlay over the
 * scratch copy on disk: switching the overlay between the original and the edited content is cheap,
 * which is how diagnostics of unchanged files are compared with their baseline.
 */
export class TypeScriptProject {
  private readonly overlay = new Map<string, string | null>();
  private readonly versions = new Map<string, string>();
  private fileNames: string[];
  private fileNameSet: Set<string>;
  /** Paths already known not to match the tsconfig's include/exclude (no need to re-read it for them). */
  private readonly notCovered = new Set<string>();
  private projectVersion = 0;
  private readonly service: ts.LanguageService;

  private constructor(
    /** The folder diagnostics' paths are relative to (the scratch copy of the workspace). */
    readonly root: string,
    readonly configPath: string,
    private parsed: ts.ParsedCommandLine,
  ) {
    this.fileNames = parsed.fileNames.map(normalize);
    this.fileNameSet = new Set(this.fileNames);
    const host: ts.LanguageServiceHost = {
      getCompilationSettings: () => this.parsed.options,
      getProjectReferences: () => this.parsed.projectReferences,
      getScriptFileNames: () => this.fileNames.filter((file) => this.overlay.get(file) !== null),
      getScriptVersion: (file) => this.versions.get(normalize(file)) ?? "disk",
      getScriptSnapshot: (file) => {
        const text = this.readFile(file);
        return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
      },
      getProjectVersion: () => String(this.projectVersion),
      getCurrentDirectory: () => root,
      getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
      fileExists: (file) =>
        this.overlay.has(normalize(file)) ? this.overlay.get(normalize(file)) !== null : ts.sys.fileExists(file),
      readFile: (file) => this.readFile(file),
      readDirectory: (dir, extensions, exclude, include, depth) =>
        ts.sys.readDirectory(dir, extensions, exclude, include, depth),
      directoryExists: (dir) => ts.sys.directoryExists(dir),
      getDirectories: (dir) => ts.sys.getDirectories(dir),
      realpath: (file) => (ts.sys.realpath ? ts.sys.realpath(file) : file),
      useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
    };
    this.service = ts.createLanguageService(host, ts.createDocumentRegistry());
  }

  /** Reads `tsconfig` (relative to `root`) and prepares the language service; nothing is checked yet. */
  static open(root: string, tsconfig: string): TypeScriptProject {
    const configPath = normalize(path.resolve(root, tsconfig));
    return new TypeScriptProject(root, configPath, parseConfig(configPath));
  }

  /** Sets the content of edited files (null: the file does not exist); other files are read from disk. */
  setFiles(files: ReadonlyMap<string, string | null>): void {
    let changed = false;
    for (const [file, content] of files) {
      const key = normalize(file);
      const version = content === null ? "absent" : `o${createHash("sha1").update(content).digest("hex")}`;
      if (this.overlay.get(key) === content && this.versions.get(key) === version) continue;
      this.overlay.set(key, content);
      this.versions.set(key, version);
      changed = true;
      if (content !== null && !this.fileNameSet.has(key) && !this.notCovered.has(key)) this.reloadFileNames(key);
    }
    const given = new Set([...files.keys()].map(normalize));
    for (const key of [...this.overlay.keys()]) {
      if (given.has(key)) continue;
      // Back to the file on disk (the scratch copy restored it): a new version makes the service read it again.
      this.overlay.delete(key);
      this.versions.set(key, `disk${++this.projectVersion}`);
      changed = true;
    }
    if (changed) this.projectVersion++;
  }

  /** True when the tsconfig covers the file (its include/files, minus exclude). */
  covers(file: string): boolean {
    return this.fileNameSet.has(normalize(file));
  }

  /** The current program (built on demand from the current overlay). */
  program(): ts.Program {
    const program = this.service.getProgram();
    if (!program) throw new Error("the TypeScript language service has no program");
    return program;
  }

  /** Syntax, type and (when the project emits declarations) declaration errors of one file. */
  diagnosticsOf(file: string): SourceDiagnostic[] {
    const key = normalize(file);
    const diagnostics: ts.Diagnostic[] = [
      ...this.service.getSyntacticDiagnostics(key),
      ...this.service.getSemanticDiagnostics(key),
    ];
    const options = this.parsed.options;
    if (diagnostics.length === 0 && (options.declaration || options.composite)) {
      const program = this.program();
      const source = program.getSourceFile(key);
      if (source) diagnostics.push(...program.getDeclarationDiagnostics(source));
    }
    return diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error).map((d) => this.describe(d));
  }

  /** Files of the project that import `file` (directly). */
  importersOf(file: string): string[] {
    const key = normalize(file);
    return [...new Set(this.service.getFileReferences(key).map((ref) => normalize(ref.fileName)))].filter(
      (f) => f !== key && this.fileNameSet.has(f),
    );
  }

  /** Workspace-relative POSIX path of a file in the copy. */
  relative(file: string): string {
    return path.relative(this.root, file).split(path.sep).join("/");
  }

  dispose(): void {
    this.service.dispose();
  }

  private describe(diagnostic: ts.Diagnostic): SourceDiagnostic {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
    if (!diagnostic.file || diagnostic.start === undefined)
      return { file: "", line: 0, column: 0, code: `TS${diagnostic.code}`, message };
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return {
      file: this.relative(diagnostic.file.fileName),
      line: line + 1,
      column: character + 1,
      code: `TS${diagnostic.code}`,
      message,
    };
  }

  private readFile(file: string): string | undefined {
    const key = normalize(file);
    if (this.overlay.has(key)) return this.overlay.get(key) ?? undefined;
    return ts.sys.readFile(file);
  }

  /** A new file appeared (it is on disk in the scratch copy): read the tsconfig's file list again to learn whether it covers it. */
  private reloadFileNames(newFile: string): void {
    this.parsed = parseConfig(this.configPath);
    this.fileNames = this.parsed.fileNames.map(normalize);
    this.fileNameSet = new Set(this.fileNames);
    if (!this.fileNameSet.has(newFile)) this.notCovered.add(newFile);
  }
}

function parseConfig(configPath: string): ts.ParsedCommandLine {
  const read = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (read.error)
    throw new TsConfigProblem(
      `${path.basename(configPath)}: ${ts.flattenDiagnosticMessageText(read.error.messageText, " ")}`,
    );
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configPath), undefined, configPath);
  // "No inputs were found" is fine: the suggestion may add the first file.
  const errors = parsed.errors.filter((e) => e.code !== 18003 && e.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    throw new TsConfigProblem(
      `${path.basename(configPath)}: ${errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, " ")).join("; ")}`,
    );
  }
  return parsed;
}

function normalize(file: string): string {
  return path.resolve(file).split(path.sep).join("/");
}
