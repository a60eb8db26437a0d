import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../test-support/cli.js";
import { SAMPLE_TASK, synthesizeTestModel, tempDir } from "../test-support/fixtures.js";
import { assertGgufHeaderBounded } from "./gguf-header-check.js";

/** A GGUF v3 header claiming `tensors` tensors and `keys` metadata keys, padded to `padding` bytes: a real file is never like this. */
function hostileHeader(tensors: bigint, keys: bigint, body: Buffer = Buffer.alloc(4096)): Buffer {
  const head = Buffer.alloc(24);
  head.write("GGUF", 0, "latin1");
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(tensors, 8);
  head.writeBigUInt64LE(keys, 16);
  return Buffer.concat([head, body]);
}

/** One metadata key whose string value claims 2^40 bytes. */
function hugeStringValue(): Buffer {
  const key = Buffer.from("general.name");
  const entry = Buffer.alloc(8 + key.length + 4 + 8);
  entry.writeBigUInt64LE(BigInt(key.length), 0);
  key.copy(entry, 8);
  entry.writeUInt32LE(8, 8 + key.length);
  entry.writeBigUInt64LE(2n ** 40n, 12 + key.length);
  return Buffer.concat([entry, Buffer.alloc(4096)]);
}

function writeModel(name: string, bytes: Buffer): string {
  const dir = tempDir("builder-hostile-");
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

const CASES = [
  {
    name: "2^40 tensors",
    bytes: hostileHeader(2n ** 40n, 0n),
    message: /claims 1099511627776 tensors, but the file has only 4120 bytes/,
  },
  { name: "2^40 keys", bytes: hostileHeader(0n, 2n ** 40n), message: /claims 1099511627776 metadata keys/ },
  {
    name: "a 2^40-byte string",
    bytes: hostileHeader(0n, 1n, hugeStringValue()),
    message: /metadata value 0 claims 1099511627776 bytes, but only \d+ are left/,
  },
];

describe("a GGUF header with impossible counts fails at once with MODEL_LOAD_FAILED", () => {
  it.each(CASES)("the check itself: $name", async ({ bytes, message }) => {
    const file = writeModel("hostile.gguf", bytes);
    await expect(assertGgufHeaderBounded(file)).rejects.toMatchObject({
      code: "MODEL_LOAD_FAILED",
      message: expect.stringMatching(message) as string,
    });
  });

  it("passes a real model's header", async () => {
    await expect(assertGgufHeaderBounded(await synthesizeTestModel())).resolves.toBeUndefined();
  });

  it.each(CASES)("builder run, doctor and models: $name", async ({ bytes, message }) => {
    const file = writeModel("hostile.gguf", bytes);
    const home = tempDir("builder-home-");
    const env = { HOME: home, XDG_CACHE_HOME: home, BUILDER_MODEL_CACHE: path.dirname(file) };
    const timeoutMs = 60_000;
    const run = await runCli(["run", "--model", file, "--threads", "1"], {
      cwd: home,
      stdin: JSON.stringify({ ...SAMPLE_TASK, constraints: { loc_max: 200, pack: "" } }),
      env,
      timeoutMs,
    });
    expect(run.code, run.stderr).toBe(3);
    const error = jsonLines(run.stderr).find((line) => "error" in line && typeof line.error === "object")?.error as {
      code: string;
      message: string;
    };
    expect(error.code).toBe("MODEL_LOAD_FAILED");
    expect(error.message).toContain(file);
    expect(error.message).toMatch(message);
    const doctor = await runCli(["doctor", "--json", "--model", file, "--threads", "1"], { cwd: home, env, timeoutMs });
    expect(doctor.code, doctor.stderr).toBe(1);
    expect(doctor.stdout).toMatch(message);
    const models = await runCli(["models", "--json"], { cwd: home, env, timeoutMs });
    expect(models.code, models.stderr).toBe(0);
    expect(models.stdout).toMatch(message);
  });
});
