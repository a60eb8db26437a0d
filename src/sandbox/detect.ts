import { spawnSync } from "node:child_process";

import { bubblewrap } from "./bubblewrap.js";
import { seatbelt } from "./seatbelt.js";
import type { Mechanism, MechanismName, SandboxPolicy } from "./types.js";
import { unshareMechanism } from "./unshare.js";

/**
 * Forces one mechanism ("bubblewrap", "unshare", "none"), for tests and for comparing mechanisms;
 * a forced mechanism that does not work here gives "none".
 */
export const MECHANISM_ENV = "BUILDER_SANDBOX_MECHANISM";

/** What detection found: the mechanism in use and, for doctor, what a better one would take. */
export interface Detection {
  mechanism: Mechanism | undefined;
  name: MechanismName;
  /** Why the better mechanisms are not used, and how to get one ("install bubblewrap: …"). */
  hint: string | undefined;
}

const cache = new Map<string, Detection>();

/** The best mechanism that really works on this machine (each is tried once with `true`), cached. */
export function detectMechanism(): Detection {
  const forced = process.env[MECHANISM_ENV];
  const key = forced ?? "";
  const known = cache.get(key);
  if (known) return known;
  const detection = detect(forced);
  cache.set(key, detection);
  return detection;
}

function detect(forced: string | undefined): Detection {
  if (forced === "none") return { mechanism: undefined, name: "none", hint: `forced by ${MECHANISM_ENV}=none` };
  if (process.platform === "darwin") {
    return works(seatbelt)
      ? { mechanism: seatbelt, name: "sandbox-exec", hint: undefined }
      : {
          mechanism: undefined,
          name: "none",
          hint: "sandbox-exec did not run (it ships with macOS: check /usr/bin/sandbox-exec)",
        };
  }
  if (process.platform !== "linux") {
    return { mechanism: undefined, name: "none", hint: `no sandbox is available on ${process.platform}` };
  }
  const candidates = [bubblewrap, unshareMechanism].filter((m) => forced === undefined || m.name === forced);
  for (const candidate of candidates) {
    if (works(candidate)) {
      const hint =
        candidate.name === "unshare"
          ? "bubblewrap is not installed or cannot run; install it for the strongest sandbox (Debian/Ubuntu: apt-get install bubblewrap)"
          : undefined;
      return { mechanism: candidate, name: candidate.name, hint };
    }
  }
  return {
    mechanism: undefined,
    name: "none",
    hint: "neither bubblewrap nor unshare could create namespaces: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
  };
}

/** Whether the mechanism runs `true` under a policy like a real one (nothing writable, no network). */
function works(mechanism: Mechanism): boolean {
  const policy: SandboxPolicy = {
    writable: [],
    hiddenDirs: [],
    hiddenFiles: [],
    network: false,
    cwd: "/",
    limits: { dataBytes: 1024 ** 3, cpuSeconds: 10, maxProcesses: 64 },
  };
  const [command, ...args] = mechanism.wrap(["true"], policy);
  if (command === undefined) return false;
  const result = spawnSync(command, args, { stdio: "ignore", timeout: 10_000 });
  return result.status === 0;
}
