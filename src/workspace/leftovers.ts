import { lstat, rm } from "node:fs/promises";
import type { Logger } from "pino";
import { getLogger } from "../telemetry/logger.js";
import { checkManifestPaths, listManifests } from "./backups.js";
import type { WorkspaceSandbox } from "./sandbox.js";

/**
 * Removes the temp files a crashed apply or undo left beside its targets. Every temp file is named in
 * its run's signed manifest before it is created, and a run that ended (applied, rolled back, undone)
 * removed its own, so the ones left are those of runs still "applying". Called under the workspace
 * lock at the start of every apply and undo, so no live run's temp file is touched. Returns the
 * workspace-relative paths removed.
 */
export async function sweepLeftovers(sandbox: WorkspaceSandbox, logger: Logger = getLogger()): Promise<string[]> {
  const removed: string[] = [];
  const { manifests } = await listManifests(sandbox, { status: "applying" });
  for (const manifest of manifests) {
    try {
      await checkManifestPaths(sandbox, manifest);
    } catch (error) {
      // Only possible with a leaked key; such a manifest is refused wherever it is used, and it must not stop every apply.
      logger.warn(
        { run_id: manifest.run_id, err: error },
        `not sweeping the temp files of run ${manifest.run_id}: its manifest names paths Builder does not use`,
      );
      continue;
    }
    for (const entry of manifest.entries) {
      if (!entry.temp) continue;
      const temp = await sandbox.resolveInside(entry.temp);
      // Only a plain file: a link or folder of that name is not something Builder wrote.
      if (!(await lstat(temp.absolute).catch(() => undefined))?.isFile()) continue;
      await rm(temp.absolute, { force: true });
      removed.push(temp.relative);
    }
  }
  if (removed.length > 0)
    logger.info({ removed }, `removed ${removed.length} temp file(s) an interrupted apply or undo left behind`);
  return removed;
}
