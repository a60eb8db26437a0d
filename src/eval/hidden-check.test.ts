import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveSandboxSettings } from "../config/verify-settings.js";
import { detectMechanism, MECHANISM_ENV } from "../sandbox/detect.js";
import { tempDir } from "../test-support/fixtures.js";
import { runHiddenCheck } from "./hidden-check.js";

const forced = process.env[MECHANISM_ENV];
afterEach(() => {
  if (forced === undefined) delete process.env[MECHANISM_ENV];
  else process.env[MECHANISM_ENV] = forced;
});

describe("eval's hidden check", () => {
  it.skipIf(detectMechanism().name === "none")(
    "runs sandboxed: it writes the case's copy, not outside it; with verify.sandbox off it runs as before",
    async () => {
      const root = tempDir("builder-hidden-");
      const outside = tempDir("builder-hidden-outside-");
      const command = `echo ok > inside.txt && echo x > ${path.join(outside, "escaped.txt")}`;
      const hidden = [{ path: "check.txt", content: "hidden\n" }];
      const sandboxed = await runHiddenCheck(root, hidden, command, 30_000);
      expect(sandboxed.passed).toBe(false);
      expect(sandboxed.outputTail).toMatch(/Read-only file system/);
      expect(sandboxed.unsandboxed).toBeUndefined();
      expect(existsSync(path.join(root, "inside.txt"))).toBe(true);
      expect(existsSync(path.join(outside, "escaped.txt"))).toBe(false);

      const off = await runHiddenCheck(root, hidden, command, 30_000, resolveSandboxSettings("off", undefined));
      expect(off.passed).toBe(true);
      expect(off.unsandboxed).toMatch(/tests ran unsandboxed: switched off/);
    },
  );
});
