import path from "node:path";
import { UsageError } from "../errors/errors.js";
import type { EvalCase } from "./case.js";
import { casesFromGit, type SkippedCommit } from "./git-cases.js";
import { loadSuite, resolveSuiteDir } from "./suite.js";

/** Where an eval's cases come from: a suite folder (or a shipped suite's name), or a repository's history. */
export type CaseSource =
  { kind: "suite"; suite: string } | { kind: "git"; repo: string; range: string; testCommand?: string };

/** The cases of a source, the name rows carry, and the commits that did not become cases. */
export interface SelectedCases {
  cases: EvalCase[];
  suiteName: string;
  skipped: SkippedCommit[];
}

/** Reads the cases of `source`; `limit` keeps the first N (in suite order, or oldest commits first). */
export async function selectCases(source: CaseSource, limit?: number): Promise<SelectedCases> {
  if (limit !== undefined && limit < 1) throw new UsageError(`--limit must be at least 1, got ${limit}.`);
  if (source.kind === "suite") {
    const dir = resolveSuiteDir(source.suite);
    const cases = await loadSuite(dir);
    return {
      cases: cases.slice(0, limit),
      suiteName: /^[a-z0-9-]+$/.test(source.suite) ? source.suite : path.basename(dir),
      skipped: [],
    };
  }
  const { cases, skipped } = await casesFromGit(source);
  return { cases: cases.slice(0, limit), suiteName: `git:${source.range}`, skipped };
}
