/** The isolation a platform offers, best first: bubblewrap, plain namespaces, macOS Seatbelt, or nothing. */
export type MechanismName = "bubblewrap" | "unshare" | "sandbox-exec" | "none";

/** What a sandboxed command may touch: everything else is read-only, hidden or unreachable. */
export interface SandboxPolicy {
  /** Folders the command may write (the scratch copy, the private temp folder). */
  writable: readonly string[];
  /** Folders whose contents are hidden (an empty folder takes their place). */
  hiddenDirs: readonly string[];
  /** Files whose contents are hidden (they read as empty). */
  hiddenFiles: readonly string[];
  /** Whether the command may use the network; off means a fresh network namespace with loopback only. */
  network: boolean;
  /** Where the command starts. */
  cwd: string;
  /** Per-process limits, applied inside the sandbox. */
  limits: SandboxLimits;
}

/** Resource limits for every process in the sandbox. */
export interface SandboxLimits {
  /** RLIMIT_DATA per process, in bytes (what `malloc`, `mmap` of private memory and Node's heap count against). */
  dataBytes: number;
  /** RLIMIT_CPU per process, in seconds. */
  cpuSeconds: number;
  /** How many processes the tree may hold at once (a pids cgroup when Builder may create one, else RLIMIT_NPROC). */
  maxProcesses: number;
}

/** One isolation mechanism: wraps a command line (program and arguments) so that it runs under a policy. */
export interface Mechanism {
  readonly name: MechanismName;
  /** The argv that runs `argv` sandboxed. */
  wrap(argv: readonly string[], policy: SandboxPolicy): string[];
}
