/**
 * Lines that say when a failed command most likely failed because of the sandbox, naming the
 * setting that would allow what it tried: a write outside the scratch copy, a network connection,
 * a process or memory limit. Empty when the output shows none of these.
 */
export function explainSandboxFailure(output: string, network: boolean): string[] {
  const lines: string[] = [];
  if (/EROFS|read-only file system/i.test(output)) {
    lines.push(
      'The sandbox refused a write outside the scratch copy (read-only file system): tests may write only inside the project copy and the temp folder (TMPDIR). Write there, or set verify.sandbox to "off" to run unsandboxed.',
    );
  }
  if (!network && /ECONNREFUSED|ENETUNREACH|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|network is unreachable/i.test(output)) {
    lines.push(
      "The sandbox has no network (loopback only, in its own namespace): a connection was refused. Set verify.sandbox.network to true if the tests need a local database or another service.",
    );
  }
  if (
    /EAGAIN|Resource temporarily unavailable|Array buffer allocation failed|heap out of memory|ENOMEM/i.test(output)
  ) {
    lines.push(
      "A sandbox limit was reached (processes or memory): raise verify.sandbox.max_processes or verify.sandbox.memory_mb if the tests really need more.",
    );
  }
  return lines;
}
