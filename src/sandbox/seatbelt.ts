import type { Mechanism, SandboxPolicy } from "./types.js";

/**
 * macOS Seatbelt (`sandbox-exec`): writes only to the writable folders, `/dev/null` and the
 * terminal devices; the secret paths unreadable; no network at all unless allowed (Seatbelt has no
 * private loopback, so a suite's own local server is refused too). Limits are per process
 * (`ulimit -t` and `-u`; macOS does not enforce a data limit). Written against Apple's profile
 * language; not exercised by the Linux test suite.
 */
export const seatbelt: Mechanism = {
  name: "sandbox-exec",
  wrap(argv: readonly string[], policy: SandboxPolicy): string[] {
    const limits = `ulimit -t ${policy.limits.cpuSeconds}; ulimit -u ${policy.limits.maxProcesses} 2>/dev/null; exec "$@"`;
    return ["sandbox-exec", "-p", seatbeltProfile(policy), "/bin/sh", "-c", limits, "sh", ...argv];
  },
};

/** The Seatbelt profile for a policy. */
export function seatbeltProfile(policy: SandboxPolicy): string {
  const literal = (value: string): string => JSON.stringify(value);
  const lines = [
    "(version 1)",
    "(allow default)",
    "(deny file-write*)",
    `(allow file-write* ${policy.writable.map((dir) => `(subpath ${literal(dir)})`).join(" ")} (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/fd/"))`,
  ];
  const hidden = [
    ...policy.hiddenDirs.map((d) => `(subpath ${literal(d)})`),
    ...policy.hiddenFiles.map((f) => `(literal ${literal(f)})`),
  ];
  if (hidden.length > 0) lines.push(`(deny file-read* ${hidden.join(" ")})`);
  if (!policy.network) lines.push("(deny network*)", "(allow network* (remote unix-socket))");
  return lines.join("\n");
}
