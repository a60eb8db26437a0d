import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, lstatSync, renameSync, rmSync } from "node:fs";

/** A separate process that keeps swapping a workspace folder for a symbolic link to somewhere else. */
export interface SymlinkSwapper {
  /** Stops the swapping and puts the real folder back in place. */
  stop(): Promise<void>;
}

/**
 * Starts a child process that, in a tight loop, moves `folder` aside, puts a symbolic link to
 * `outside` in its place, and moves it back: the check-then-use race a hostile repository could run
 * against Builder. A separate process, so that the swaps interleave with Builder's own file calls.
 */
export function startSymlinkSwapper(folder: string, outside: string): SymlinkSwapper {
  const aside = `${folder}.aside`;
  // Each state (real folder, link) holds for about a millisecond, so Builder's calls land in both.
  const script = `
    const fs = require("node:fs");
    const [folder, aside, outside] = process.argv.slice(1);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      try { fs.renameSync(folder, aside); } catch {}
      try { fs.symlinkSync(outside, folder); } catch {}
      Atomics.wait(pause, 0, 0, 1);
      try { fs.unlinkSync(folder); } catch {}
      // A folder Builder created while the real one was aside is in the way: the real one wins.
      try { fs.rmSync(folder, { recursive: true, force: true }); } catch {}
      try { fs.renameSync(aside, folder); } catch {}
      Atomics.wait(pause, 0, 0, 1);
    }`;
  const child: ChildProcess = spawn(process.execPath, ["-e", script, folder, aside, outside], { stdio: "ignore" });
  return {
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await exited;
      if (lstatSync(folder, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(folder);
      if (existsSync(aside) && !existsSync(folder)) renameSync(aside, folder);
    },
  };
}
