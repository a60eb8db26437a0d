import { mkdirSync } from "node:fs";
import path from "node:path";

import type { SandboxSettings } from "../config/verify-settings.js";
import { SandboxUnavailableError } from "../errors/errors.js";
import { createPidsCgroup } from "./cgroup.js";
import { detectMechanism } from "./detect.js";
import { findSecrets, type HiddenPaths } from "./secrets.js";
import { shellQuote } from "./unshare.js";
import type { Mechanism, MechanismName, SandboxPolicy } from "./types.js";

/** The one note the verdict and the report carry when model-written code ran without a sandbox. */
export const UNSANDBOXED_NOTE = "tests ran unsandboxed";

/** What a sandbox is opened for. */
export interface SandboxRequest {
  /** The folders the commands may write: the scratch copy (its enclosing temp folder). */
  writable: readonly string[];
  /** The private temp folder: writable, and TMPDIR for the commands (vitest and jest keep caches there). */
  tempDir: string;
  /** Folders whose secret files (.env, keys, the deny list) are hidden: the workspace and its copy. */
  secretRoots: readonly string[];
}

/** A command ready to spawn: program, arguments, environment, and what to clean up after it ended. */
export interface PreparedCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** True when the command line went through the shell inside the wrapper already. */
  viaShell: boolean;
  cleanup(): Promise<void>;
}

/**
 * Runs model-influenced commands (tests, linters, hidden checks) under the best mechanism this
 * machine offers, or says plainly that it cannot. One per verifier or eval case: detection and the
 * secret scan happen once.
 */
export class Sandbox {
  private constructor(
    private readonly mechanism: Mechanism | undefined,
    /** The mechanism in use ("none" when unsandboxed). */
    readonly name: MechanismName,
    /** Why the commands run unsandboxed, for the verdict's notes; undefined when sandboxed. */
    readonly note: string | undefined,
    private readonly settings: SandboxSettings,
    private readonly request: SandboxRequest,
    private readonly hidden: HiddenPaths,
  ) {}

  /**
   * Picks the mechanism for `settings.mode`: none when "off"; the best available for "auto" (none,
   * with a note, when there is none); and for "required" a {@link SandboxUnavailableError} when there is none.
   */
  static open(settings: SandboxSettings, request: SandboxRequest): Sandbox {
    if (settings.mode === "off") {
      const note = `${UNSANDBOXED_NOTE}: switched off (${settings.source})`;
      return new Sandbox(undefined, "none", note, settings, request, { dirs: [], files: [] });
    }
    const detection = detectMechanism();
    if (!detection.mechanism) {
      if (settings.mode === "required") {
        throw new SandboxUnavailableError(
          `verify.sandbox is "required" but no sandbox works on this machine (${detection.hint ?? "none found"}), so model-written code was not run. Install one, or set verify.sandbox to "auto" to run unsandboxed with a note.`,
          { mechanism: "none", hint: detection.hint },
        );
      }
      const note = `${UNSANDBOXED_NOTE}: no sandbox available (${detection.hint ?? "none found"})`;
      return new Sandbox(undefined, "none", note, settings, request, { dirs: [], files: [] });
    }
    mkdirSync(request.tempDir, { recursive: true });
    const hidden = findSecrets(request.secretRoots, settings.deny);
    return new Sandbox(detection.mechanism, detection.name, undefined, settings, request, hidden);
  }

  /** Whether commands run isolated. */
  get active(): boolean {
    return this.mechanism !== undefined;
  }

  /** Whether the network is open to the commands. */
  get network(): boolean {
    return this.settings.network;
  }

  /** Wraps a command (a program and arguments, or a shell line with `shell`) to run in `cwd`. */
  prepare(
    command: string,
    args: readonly string[],
    shell: boolean,
    cwd: string,
    env: NodeJS.ProcessEnv,
  ): PreparedCommand {
    const argv = shell ? ["/bin/sh", "-c", [command, ...args].join(" ")] : [command, ...args];
    if (!this.mechanism) return { command, args: [...args], env, viaShell: false, cleanup: async () => undefined };
    const policy = this.policy(cwd);
    let wrapped = this.mechanism.wrap(argv, policy);
    // Root is exempt from RLIMIT_NPROC: a pids cgroup, joined before the sandbox starts, caps the tree.
    const cgroup = process.getuid?.() === 0 ? createPidsCgroup(this.settings.maxProcesses) : undefined;
    if (cgroup) wrapped = ["/bin/sh", "-c", `echo $$ > ${shellQuote(cgroup.procsFile)} && exec "$@"`, "sh", ...wrapped];
    const [program = "true", ...rest] = wrapped;
    const temp = this.request.tempDir;
    return {
      command: program,
      args: rest,
      env: { ...env, TMPDIR: temp, TMP: temp, TEMP: temp, XDG_CACHE_HOME: path.join(temp, ".cache") },
      viaShell: true,
      cleanup: async () => cgroup?.dispose(),
    };
  }

  private policy(cwd: string): SandboxPolicy {
    return {
      writable: [...this.request.writable, this.request.tempDir],
      hiddenDirs: this.hidden.dirs,
      hiddenFiles: this.hidden.files,
      network: this.settings.network,
      cwd,
      limits: {
        dataBytes: this.settings.memoryMb * 1024 * 1024,
        cpuSeconds: this.settings.cpuSeconds,
        maxProcesses: this.settings.maxProcesses,
      },
    };
  }
}
