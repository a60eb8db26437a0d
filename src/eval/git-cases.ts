import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { UsageError } from "../errors/errors.js";
import { isTestFile } from "../workspace/test-placement.js";
import type { CaseFile, EvalCase } from "./case.js";

const execFileAsync = promisify(execFile);

/** Source files a case may ask the model to change (tests and everything else are left out). */
const SOURCE_FILE = /\.([cm]?[jt]sx?)$/;
/** The most source files one commit may change and still make a case: a model answers one task at a time. */
export const MAX_SOURCE_FILES = 3;

/** Options for {@link casesFromGit}. */
export interface GitCaseOptions {
  /** The repository (any folder inside it). */
  repo: string;
  /** A `git log` range (`A..B`, or one revision for its whole history). */
  range: string;
  /** The command that runs tests; `{files}` becomes the commit's test files (else they are appended). Default: package.json's test script. */
  testCommand?: string;
}

/** A commit that did not become a case, and why (reported, never silent). */
export interface SkippedCommit {
  commit: string;
  subject: string;
  reason: string;
}

/**
 * Cases from a repository's history: each non-merge commit in `range` that changes 1-3 source files
 * (added or modified) and adds or changes tests. Workspace = its parent, objective = its message,
 * files = its source files, hidden tests = its test files as committed, reference = its source files
 * as committed.
 */
export async function casesFromGit(options: GitCaseOptions): Promise<{ cases: EvalCase[]; skipped: SkippedCommit[] }> {
  const top = (
    await git(options.repo, ["rev-parse", "--show-toplevel"]).catch(() => {
      throw new UsageError(`${options.repo} is not inside a git repository: --from-git needs one (--repo DIR).`);
    })
  ).trim();
  const log = await git(top, ["log", "--no-merges", "--reverse", "--format=%H", options.range]).catch(
    (error: Error) => {
      throw new UsageError(
        `git log ${options.range} failed in ${top}: ${error.message.split("\n").slice(-2).join(" ").trim()}. Give --range as A..B.`,
      );
    },
  );
  const commits = log.split("\n").filter((line) => line !== "");
  const cases: EvalCase[] = [];
  const skipped: SkippedCommit[] = [];
  for (const commit of commits) {
    const made = await caseFromCommit(top, commit, options.testCommand);
    if ("reason" in made) skipped.push(made);
    else cases.push(made);
  }
  return { cases, skipped };
}

async function caseFromCommit(
  top: string,
  commit: string,
  testCommand: string | undefined,
): Promise<EvalCase | SkippedCommit> {
  const [subject, ...bodyLines] = (await git(top, ["show", "-s", "--format=%B", commit])).trim().split("\n");
  const short = commit.slice(0, 10);
  const skip = (reason: string): SkippedCommit => ({ commit: short, subject: subject ?? "", reason });
  const parents = (await git(top, ["show", "-s", "--format=%P", commit]))
    .trim()
    .split(" ")
    .filter((p) => p !== "");
  if (parents.length !== 1) return skip("no parent commit to start from");
  const changes = await changedFiles(top, commit);
  const tests = changes.filter((c) => isTestFile(c.path) && c.status !== "D");
  const sources = changes.filter((c) => !isTestFile(c.path) && SOURCE_FILE.test(c.path));
  if (tests.length === 0) return skip("adds or changes no tests");
  if (sources.length === 0) return skip("changes no source files");
  if (sources.length > MAX_SOURCE_FILES)
    return skip(`changes ${sources.length} source files (at most ${MAX_SOURCE_FILES})`);
  if (sources.some((s) => s.status === "D")) return skip("deletes a source file");
  const at = (file: string): Promise<CaseFile> =>
    git(top, ["show", `${commit}:${file}`]).then((content) => ({ path: file, content }));
  const hidden = await Promise.all(tests.map((t) => at(t.path)));
  const reference = await Promise.all(sources.map((s) => at(s.path)));
  const command = checkCommandFor(
    top,
    hidden.map((h) => h.path),
    testCommand,
  );
  if (!command)
    return skip("no test command: set eval.test_command (or --test-command), or a test script in package.json");
  const body = bodyLines.join("\n").trim();
  return {
    id: short,
    task: {
      task_id: short,
      objective: body ? `${subject ?? ""}\n\n${body}` : (subject ?? ""),
      files: sources.map((s) => s.path),
      acceptance: [],
      constraints: { loc_max: 400, pack: "" },
    },
    workspace: { kind: "git", repo: top, commit: parents[0] as string },
    hidden,
    checkCommand: command,
    reference,
  };
}

/** The hidden check's command: the configured one with `{files}` filled in, else `npm test -- <files>` when package.json has a test script. */
export function checkCommandFor(
  top: string,
  testFiles: readonly string[],
  testCommand: string | undefined,
): string | undefined {
  const files = testFiles.map(shellQuote).join(" ");
  if (testCommand)
    return testCommand.includes("{files}") ? testCommand.replaceAll("{files}", files) : `${testCommand} ${files}`;
  try {
    const pkg = JSON.parse(readFileSync(path.join(top, "package.json"), "utf8")) as {
      scripts?: Record<string, string>;
    };
    if (pkg.scripts?.test) return `npm test --silent -- ${files}`;
  } catch {
    // no package.json: no default
  }
  return undefined;
}

async function changedFiles(top: string, commit: string): Promise<Array<{ status: string; path: string }>> {
  const out = await git(top, ["diff-tree", "--no-commit-id", "-r", "--no-renames", "--name-status", "-z", commit]);
  const parts = out.split("\0").filter((p) => p !== "");
  const changes: Array<{ status: string; path: string }> = [];
  for (let i = 0; i + 1 < parts.length; i += 2)
    changes.push({ status: (parts[i] ?? "").charAt(0), path: parts[i + 1] ?? "" });
  return changes;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("git", ["-C", cwd, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

function shellQuote(value: string): string {
  return /^[\w./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}
