import { prlimitArgv } from "./limits.js";
import type { Mechanism, SandboxPolicy } from "./types.js";

/** Exit status of the set-up script when the file system could not be made read-only. */
export const UNSHARE_SETUP_FAILED = 97;

/**
 * Plain namespaces through util-linux `unshare` (no bubblewrap): new mount, pid and (unless the
 * network is allowed) network namespaces, plus a user namespace when Builder is not root. A small
 * shell script then builds what bubblewrap would: a minimal `/dev`, every mount remounted read-only,
 * the writable folders bound back read-write, the secret paths covered; and `setpriv` drops every
 * capability and sets no-new-privs before the command runs. `--kill-child` plus the pid namespace
 * end the whole tree when the wrapper is killed.
 */
export const unshareMechanism: Mechanism = {
  name: "unshare",
  wrap(argv: readonly string[], policy: SandboxPolicy): string[] {
    const isRoot = process.getuid?.() === 0;
    const args = ["unshare"];
    if (!isRoot) args.push("--user", "--map-root-user");
    args.push("--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private");
    if (!policy.network) args.push("--net");
    const inner = ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"];
    return [
      ...args,
      "--",
      "/bin/sh",
      "-c",
      setupScript(policy),
      "sh",
      ...inner,
      ...prlimitArgv(argv, policy.limits, isRoot),
    ];
  },
};

/** The shell script that builds the file-system view inside the new namespaces, then execs "$@". */
export function setupScript(policy: SandboxPolicy): string {
  const q = shellQuote;
  const lines = [
    "set -e",
    policy.network ? "" : "ip link set lo up 2>/dev/null || true",
    // A minimal /dev, so no disk or memory device is reachable: a tmpfs over /dev, with the harmless
    // devices bound back from descriptors opened before it hid them (`mount --move` is refused in a
    // user namespace; --no-canonicalize keeps mount from resolving the descriptor to the new, empty file).
    "exec 3</dev/null 4</dev/zero 5</dev/full 6</dev/random 7</dev/urandom",
    "mount -t tmpfs -o mode=755,size=1m tmpfs /dev",
    "i=3; for n in null zero full random urandom; do touch /dev/$n; mount --no-canonicalize --bind /proc/self/fd/$i /dev/$n; i=$((i+1)); done",
    "exec 3<&- 4<&- 5<&- 6<&- 7<&-",
    "mkdir /dev/shm /dev/pts",
    "ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin",
    "ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr",
    "for mp in $(awk '{print $2}' /proc/self/mounts); do mount -o remount,bind,ro \"$mp\" 2>/dev/null || true; done",
    "mount -t tmpfs -o size=64m tmpfs /dev/shm",
    ...policy.writable.map((dir) => `mount --bind ${q(dir)} ${q(dir)}; mount -o remount,bind,rw ${q(dir)}`),
    ...policy.hiddenDirs.map((dir) => `mount -t tmpfs -o ro,size=4k tmpfs ${q(dir)}`),
    ...policy.hiddenFiles.map((file) => `mount --bind /dev/null ${q(file)}`),
    // A mount that stayed writable would void the sandbox: refuse to run instead.
    `if (: > /.builder-sandbox-probe) 2>/dev/null; then rm -f /.builder-sandbox-probe; echo "builder sandbox: / stayed writable" >&2; exit ${UNSHARE_SETUP_FAILED}; fi`,
    `cd ${q(policy.cwd)}`,
    'exec "$@"',
  ];
  return lines.filter((line) => line !== "").join("\n");
}

/** Quotes a value for /bin/sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}
