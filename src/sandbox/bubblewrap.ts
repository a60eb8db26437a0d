import { prlimitArgv } from "./limits.js";
import type { Mechanism, SandboxPolicy } from "./types.js";

/**
 * Bubblewrap (`bwrap`): a new mount, pid, ipc, uts and (unless the network is allowed) network
 * namespace. The whole file system is bound read-only, `/dev` is a minimal one (no disks), the
 * writable folders are bound back read-write and the secret paths are covered. All capabilities
 * are dropped, so even root inside cannot remount anything; `/proc/sys` stays read-only. When the
 * wrapper is killed, `--die-with-parent` ends the sandbox's first process and with it the pid
 * namespace, so every descendant dies, including those that left the process group.
 */
export const bubblewrap: Mechanism = {
  name: "bubblewrap",
  wrap(argv: readonly string[], policy: SandboxPolicy): string[] {
    const isRoot = process.getuid?.() === 0;
    const args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-all"];
    if (policy.network) args.push("--share-net");
    if (isRoot) args.push("--cap-drop", "ALL");
    args.push("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc");
    for (const dir of policy.writable) args.push("--bind", dir, dir);
    for (const dir of policy.hiddenDirs) args.push("--tmpfs", dir, "--remount-ro", dir);
    for (const file of policy.hiddenFiles) args.push("--ro-bind", "/dev/null", file);
    args.push("--chdir", policy.cwd, "--");
    return [...args, ...prlimitArgv(argv, policy.limits, isRoot)];
  },
};
