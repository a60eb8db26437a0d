import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { tempDir, writeFiles } from "./fixtures.js";

/** Runs git in `cwd` with a fixed identity; returns stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    "git",
    ["-c", "user.name=Builder Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", ...args],
    {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

/** A real git repository in a temp folder holding `files`, committed. */
export function gitRepo(files: Record<string, string>, prefix = "builder-repo-"): string {
  const root = tempDir(prefix);
  git(root, "init", "-q", "-b", "main");
  writeFiles(root, files);
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", "initial", "--allow-empty");
  return root;
}

/**
 * Every entry under `root` except `.git/` and `.builder/`: files by SHA-256 and mode, links by
 * target, folders by mode; equal snapshots mean a byte-identical tree.
 */
export function treeSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (dir: string): void => {
    for (const name of readdirSync(path.join(root, dir)).sort()) {
      const relative = dir ? `${dir}/${name}` : name;
      if (relative === ".git" || relative === ".builder") continue;
      const full = path.join(root, relative);
      const stats = lstatSync(full);
      if (stats.isSymbolicLink()) out[relative] = `link ${readlinkSync(full)}`;
      else if (stats.isDirectory()) {
        out[`${relative}/`] = `dir ${(stats.mode & 0o7777).toString(8)}`;
        visit(relative);
      } else
        out[relative] =
          `${(stats.mode & 0o7777).toString(8)} ${createHash("sha256").update(readFileSync(full)).digest("hex")}`;
    }
  };
  visit("");
  return out;
}
