import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { CLI_PATH, TEST_HOST_DIR, type CliResult } from "./cli.js";

/**
 * Runs `builder …` in a workspace it cannot write, honestly: tests often run as root, and root ignores
 * permission bits, so as root the workspace is bind-mounted read-only over itself inside a private
 * mount namespace of the child only (`unshare --mount`: the mount vanishes with the child, nothing
 * else sees it; writes fail with EROFS, as on a read-only volume). As any other user, write permission
 * is removed for the run and restored after (writes fail with EACCES).
 */
export async function runCliReadOnly(
  root: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<CliResult> {
  const node = [process.execPath, CLI_PATH, ...args];
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) execFileSync("chmod", ["-R", "a-w", root]);
  try {
    const [command, ...rest] = asRoot
      ? [
          "unshare",
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          'mount --bind -o ro "$0" "$0" && exec "$@"',
          root,
          ...node,
        ]
      : node;
    return await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(command as string, rest, {
        cwd: options.cwd ?? root,
        env: {
          ...process.env,
          BUILDER_LOG_LEVEL: "info",
          BUILDER_KEEP_ALIVE: "0",
          BUILDER_ENGINE_DIR: TEST_HOST_DIR,
          ...options.env,
        },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 110_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(options.stdin ?? "");
    });
  } finally {
    if (!asRoot) execFileSync("chmod", ["-R", "u+w", root]);
  }
}
