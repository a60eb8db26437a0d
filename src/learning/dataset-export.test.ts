import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test-support/fixtures.js";
import { describeExport, exportDataset, validationPath, type DatasetFormat } from "./dataset-export.js";

const SOURCE = fileURLToPath(new URL("./__fixtures__/verified.jsonl", import.meta.url));
const golden = (name: string): string => fileURLToPath(new URL(`./__fixtures__/golden/${name}`, import.meta.url));

/** Compares with the committed golden file; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function expectGolden(actual: string, name: string): void {
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden(name), actual);
  expect(actual).toBe(readFileSync(golden(name), "utf8"));
}

describe("dataset export against golden files", () => {
  it.each(["chat", "alpaca", "sharegpt"] as DatasetFormat[])("%s", async (format) => {
    const { summary, stdout } = await exportDataset({ source: SOURCE, format });
    expectGolden(stdout ?? "", `${format}.jsonl`);
    // 7 lines: 4 usable VERIFIED (one a duplicate), 1 FAILED, 1 broken, 1 of an unknown schema version
    expect(summary).toMatchObject({
      read: 7,
      invalid: 2,
      not_verified: 1,
      duplicates: 1,
      train: { file: null, examples: 3 },
      validation: null,
    });
  });

  it("every exported line is JSON and none comes from the FAILED run", async () => {
    const { stdout } = await exportDataset({ source: SOURCE, format: "chat" });
    const lines = (stdout ?? "")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { messages: Array<{ role: string; content: string }> });
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.messages.at(-1)?.role).toBe("assistant");
    // the few-shot run keeps its earlier turns: system, user, assistant, user, assistant
    expect(lines[2].messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant"]);
  });

  it("splits reproducibly by seed into train and validation files, written atomically", async () => {
    const dir = tempDir();
    const out = path.join(dir, "data", "crm.jsonl");
    const { summary, stdout } = await exportDataset({ source: SOURCE, format: "chat", out, split: 0.6, seed: 7 });
    expect(stdout).toBeUndefined();
    expect(summary.train).toEqual({ file: out, examples: 2 });
    expect(summary.validation).toEqual({ file: path.join(dir, "data", "crm.val.jsonl"), examples: 1 });
    expectGolden(readFileSync(out, "utf8"), "chat.train-seed7.jsonl");
    expectGolden(readFileSync(path.join(dir, "data", "crm.val.jsonl"), "utf8"), "chat.val-seed7.jsonl");
    const again = path.join(dir, "again.jsonl");
    await exportDataset({ source: SOURCE, format: "chat", out: again, split: 0.6, seed: 7 });
    expect(readFileSync(again, "utf8")).toBe(readFileSync(out, "utf8"));
    expect(describeExport(summary)).toBe(
      `Exported 2 chat examples to ${out}; 1 validation example to ${path.join(dir, "data", "crm.val.jsonl")} (read 7; left out 1 duplicate, 2 unreadable lines, 1 not VERIFIED).`,
    );
  });

  it("rejects a split outside (0, 1) or without --out, writing nothing", async () => {
    const dir = tempDir();
    await expect(
      exportDataset({ source: SOURCE, format: "chat", out: path.join(dir, "x.jsonl"), split: 1 }),
    ).rejects.toMatchObject({ code: "USAGE" });
    await expect(exportDataset({ source: SOURCE, format: "chat", split: 0.9 })).rejects.toMatchObject({
      code: "USAGE",
    });
    expect(existsSync(path.join(dir, "x.jsonl"))).toBe(false);
  });

  it("re-masks every record: secrets in a training file written unmasked (an older Builder, an edit) never reach the export", async () => {
    const dir = tempDir();
    const source = path.join(dir, "verified.jsonl");
    const first = readFileSync(SOURCE, "utf8").split("\n")[0];
    const leaky = first
      .replaceAll(
        "Add createContact with email validation",
        "Add createContact; log in as bob@corp.example, the password is Hunter2-S3cret!",
      )
      .replace(
        "Validates with zod.",
        'Validates with zod; token: ghp_abcdefghijklmnopqrstuvwxyz0123456789 and const apiKey = \\"k-123456\\"',
      );
    writeFileSync(source, leaky + "\n");
    for (const format of ["chat", "alpaca", "sharegpt"] as DatasetFormat[]) {
      const { stdout, summary } = await exportDataset({ source, format });
      expect(summary.train.examples, format).toBe(1);
      for (const secret of [
        "bob@corp.example",
        "Hunter2-S3cret!",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "k-123456",
      ])
        expect(stdout, `${format}: ${secret}`).not.toContain(secret);
      expect(stdout).toContain("the password is ***");
    }
  });

  it("says so when nothing is recorded yet", async () => {
    const { summary, stdout } = await exportDataset({ source: path.join(tempDir(), "verified.jsonl"), format: "chat" });
    expect(stdout).toBe("");
    expect(describeExport(summary)).toContain("No verified runs are recorded");
  });

  it("names the validation file next to the train file", () => {
    expect(validationPath("data/train.jsonl")).toBe("data/train.val.jsonl");
    expect(validationPath("out")).toBe("out.val.jsonl");
  });
});
