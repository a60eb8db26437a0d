import type { SandboxSettings } from "../config/verify-settings.js";
import { detectMechanism, type Detection } from "../sandbox/detect.js";
import type { DoctorCheck } from "./types.js";

const BETTER_LINUX =
  "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)";

/**
 * Which sandbox model-written tests run in (`verify.sandbox`): ok with bubblewrap or sandbox-exec,
 * a warning with the `unshare` fallback, with none, or when switched off; a failure when the config
 * requires a sandbox and there is none (every verified run would stop with exit 10).
 */
export function sandboxCheck(settings: SandboxSettings, detection: Detection = detectMechanism()): DoctorCheck {
  const details = { mechanism: detection.name, mode: settings.mode, network: settings.network };
  if (settings.mode === "off") {
    return {
      id: "sandbox",
      status: "warn",
      message: `verify.sandbox is "off": tests and linters run model-written code with your full rights (${detection.name} would be available).`,
      fix: 'Remove verify.sandbox or set it to "auto".',
      details,
    };
  }
  if (detection.name === "none") {
    const required = settings.mode === "required";
    return {
      id: "sandbox",
      status: required ? "fail" : "warn",
      message: required
        ? `verify.sandbox is "required" but no sandbox works here (${detection.hint ?? "none found"}): verified runs will stop with exit 10.`
        : `No sandbox works here (${detection.hint ?? "none found"}): model-written tests run unsandboxed, and each verdict says so.`,
      fix: process.platform === "linux" ? BETTER_LINUX : detection.hint,
      details,
    };
  }
  const network = settings.network ? "network allowed (verify.sandbox.network)" : "no network";
  if (detection.name === "unshare") {
    return {
      id: "sandbox",
      status: "warn",
      message: `Model-written tests run sandboxed with plain namespaces (unshare), ${network}.`,
      fix: `${BETTER_LINUX} for the stronger, better-tested sandbox.`,
      details,
    };
  }
  return {
    id: "sandbox",
    status: "ok",
    message: `Model-written tests run sandboxed with ${detection.name}: writes only to the scratch copy and a private temp folder, secrets hidden, ${network}.`,
    details,
  };
}
