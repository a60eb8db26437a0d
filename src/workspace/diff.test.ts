import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gitRepo } from "../test-support/git-repo.js";
import { diffLines, unifiedDiff } from "./diff.js";

/** A deterministic pseudo-random generator, so failures reproduce. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function mutate(lines: string[], random: () => number): string[] {
  const out = [...lines];
  const edits = 1 + Math.floor(random() * 6);
  for (let i = 0; i < edits; i += 1) {
    const at = Math.floor(random() * (out.length + 1));
    const choice = random();
    if (choice < 0.33) out.splice(at, 1);
    else if (choice < 0.66) out.splice(at, 0, `inserted ${Math.floor(random() * 1000)}`);
    else out.splice(at, 1, `changed ${Math.floor(random() * 1000)}`);
  }
  return out;
}

const text = (lines: string[], finalNewline: boolean): string =>
  lines.join("\n") + (finalNewline && lines.length > 0 ? "\n" : "");

/** Applies a diff with the real git and returns the resulting file, or undefined when it was deleted. */
function gitApply(root: string, diff: string, file: string): string | undefined {
  writeFileSync(path.join(root, "change.patch"), diff);
  execFileSync("git", ["apply", "--whitespace=nowarn", "change.patch"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const full = path.join(root, file);
  return existsSync(full) ? readFileSync(full, "utf8") : undefined;
}

describe("unifiedDiff", () => {
  it("produces diffs that git apply turns into exactly the new content (200 random edits)", () => {
    const random = prng(7);
    const root = gitRepo({});
    for (let round = 0; round < 200; round += 1) {
      const base = Array.from({ length: Math.floor(random() * 40) }, (_, i) => `line ${i} ${Math.floor(random() * 5)}`);
      const before = text(base, random() < 0.8);
      const after = text(mutate(base, random), random() < 0.8);
      writeFileSync(path.join(root, "f.txt"), before);
      const diff = unifiedDiff(
        { path: "f.txt", content: Buffer.from(before) },
        { path: "f.txt", content: Buffer.from(after) },
      );
      if (before === after) {
        expect(diff).toBe("");
        continue;
      }
      expect(gitApply(root, diff, "f.txt"), `round ${round}:\n${diff}`).toBe(after);
    }
  });

  it("writes creations and deletions git understands, including empty files", () => {
    const root = gitRepo({});
    expect(
      gitApply(
        root,
        unifiedDiff({ path: "n.ts", content: null }, { path: "n.ts", content: Buffer.from("a\nb\n") }),
        "n.ts",
      ),
    ).toBe("a\nb\n");
    expect(
      gitApply(
        root,
        unifiedDiff({ path: "n.ts", content: Buffer.from("a\nb\n"), mode: 0o644 }, { path: "n.ts", content: null }),
        "n.ts",
      ),
    ).toBeUndefined();
    expect(
      gitApply(root, unifiedDiff({ path: "e.ts", content: null }, { path: "e.ts", content: Buffer.alloc(0) }), "e.ts"),
    ).toBe("");
  });

  it("marks a missing final newline and reads as a normal diff", () => {
    const diff = unifiedDiff(
      { path: "a.ts", content: Buffer.from("one\ntwo") },
      { path: "a.ts", content: Buffer.from("one\ntwo\nthree\n") },
    );
    expect(diff).toBe(
      [
        "diff --git a/a.ts b/a.ts",
        "--- a/a.ts",
        "+++ b/a.ts",
        "@@ -1,2 +1,3 @@",
        " one",
        "-two",
        "\\ No newline at end of file",
        "+two",
        "+three",
        "",
      ].join("\n"),
    );
  });

  it("falls back to replace-the-middle for very different files, and stays correct", () => {
    const root = gitRepo({});
    const a = Array.from({ length: 3000 }, (_, i) => `old ${i}`);
    const b = Array.from({ length: 3000 }, (_, i) => `new ${i}`);
    writeFileSync(path.join(root, "big.txt"), text(a, true));
    const diff = unifiedDiff(
      { path: "big.txt", content: Buffer.from(text(a, true)) },
      { path: "big.txt", content: Buffer.from(text(b, true)) },
    );
    expect(gitApply(root, diff, "big.txt")).toBe(text(b, true));
  });

  it("finds a minimal edit script", () => {
    const ops = diffLines(["a\n", "b\n", "c\n", "d\n"], ["a\n", "x\n", "c\n", "d\n", "e\n"]);
    expect(ops.filter((op) => op.kind !== " ").length).toBe(3);
  });

  it("says when binary files differ", () => {
    expect(
      unifiedDiff({ path: "b.bin", content: Buffer.from([0, 1]) }, { path: "b.bin", content: Buffer.from([0, 2]) }),
    ).toContain("Binary files a/b.bin and b/b.bin differ");
  });

  it("diffs 200,000-line files without overflowing the stack: one change, scattered changes, and a whole-file rewrite", () => {
    const root = gitRepo({});
    const base = Array.from({ length: 200_000 }, (_, i) => `const line${i} = ${i};`);
    const oneChange = base.map((line, i) => (i === 123_456 ? "const changed = true;" : line));
    const scattered = base.map((line, i) => (i % 97 === 0 ? `${line} // edited` : line));
    const rewrite = base.map((_, i) => `let other${i} = ${i * 2};`);
    for (const [name, after] of [
      ["one change", oneChange],
      ["scattered", scattered],
      ["rewrite", rewrite],
    ] as const) {
      writeFileSync(path.join(root, "big.ts"), text(base, true));
      const diff = unifiedDiff(
        { path: "big.ts", content: Buffer.from(text(base, true)) },
        { path: "big.ts", content: Buffer.from(text(after, true)) },
      );
      expect(gitApply(root, diff, "big.ts") === text(after, true), name).toBe(true);
    }
  });
});
