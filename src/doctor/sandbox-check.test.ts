import { describe, expect, it } from "vitest";
import { resolveSandboxSettings } from "../config/verify-settings.js";
import { bubblewrap } from "../sandbox/bubblewrap.js";
import type { Detection } from "../sandbox/detect.js";
import { unshareMechanism } from "../sandbox/unshare.js";
import { sandboxCheck } from "./sandbox-check.js";

const none: Detection = {
  mechanism: undefined,
  name: "none",
  hint: "neither bubblewrap nor unshare could create namespaces",
};
const bwrap: Detection = { mechanism: bubblewrap, name: "bubblewrap", hint: undefined };
const unshare: Detection = { mechanism: unshareMechanism, name: "unshare", hint: "bubblewrap is not installed" };

describe("doctor's sandbox check", () => {
  it("names the mechanism in use and how to get a better one", () => {
    const auto = resolveSandboxSettings(undefined, undefined);
    expect(sandboxCheck(auto, bwrap)).toMatchObject({
      status: "ok",
      message: expect.stringMatching(/bubblewrap.*no network/),
    });
    const fallback = sandboxCheck(auto, unshare);
    expect(fallback).toMatchObject({ status: "warn", message: expect.stringContaining("unshare") });
    expect(fallback.fix).toMatch(/apt-get install bubblewrap/);
    expect(sandboxCheck(auto, none)).toMatchObject({
      status: "warn",
      message: expect.stringMatching(/run unsandboxed/),
    });
  });

  it("fails when a sandbox is required and there is none, and warns when it is switched off", () => {
    const required = sandboxCheck(resolveSandboxSettings("required", undefined), none);
    expect(required).toMatchObject({ status: "fail", message: expect.stringMatching(/exit 10/) });
    expect(sandboxCheck(resolveSandboxSettings("off", undefined), bwrap)).toMatchObject({
      status: "warn",
      message: expect.stringMatching(/"off"/),
    });
  });
});
