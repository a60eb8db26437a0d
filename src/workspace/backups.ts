import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { describeIssues } from "../errors/describe-issues.js";
import { BackupUntrustedError, MAX_NAME_BYTES, UsageError } from "../errors/errors.js";
import { writeBuilderFile } from "./builder-dir.js";
import { sha256 } from "./file-state.js";
import { loadManifestKey, loadOrCreateManifestKey, macMatches, manifestKeyPath, manifestMac } from "./manifest-key.js";
import type { WorkspaceSandbox } from "./sandbox.js";

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);
const RelativePathSchema = z.string().min(1).max(4096);
const RunIdSchema = z
  .string()
  .regex(RUN_ID)
  .refine((id) => !id.includes(".."), "not a run id");

/** What a run did to one file. */
export type FileAction = "create" | "modify" | "delete";

/** One file a run changed, with everything needed to put it back. */
export const ManifestEntrySchema = z.strictObject({
  /** Workspace-relative, POSIX separators. */
  path: RelativePathSchema,
  action: z.enum(["create", "modify", "delete"]),
  /** The file before the run; null when the run created it. `backup` is relative to the run's backup folder (always `files/<path>`). */
  before: z
    .strictObject({ sha256: Sha256Schema, mode: z.number().int().min(0).max(0o7777), backup: RelativePathSchema })
    .nullable(),
  /** The file after the run; null when the run deleted it. */
  after: z.strictObject({ sha256: Sha256Schema }).nullable(),
  /** The temp file the new content is written to before the rename (always {@link tempPathFor}), removed if a crash left it. */
  temp: RelativePathSchema.optional(),
});

export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

/**
 * `.builder/backups/<run-id>/manifest.json`. Written, complete, synced and signed (`manifest.hmac`,
 * with the workspace's own key) before the first file changes (status "applying"), so that even a
 * crash mid-apply leaves enough to undo it.
 */
export const BackupManifestSchema = z.strictObject({
  version: z.literal(1),
  run_id: RunIdSchema,
  /** "run" (builder run --apply), "apply" (builder apply), "undo" (the restore itself, so an undo can be undone). */
  source: z.enum(["run", "apply", "undo"]),
  /** For undo runs: the run they undid. */
  undoes: RunIdSchema.optional(),
  status: z.enum(["applying", "applied", "rolled-back", "undone"]),
  /** The run that undid this one. */
  undone_by: RunIdSchema.optional(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  /** Folders the run created (workspace-relative, parents first); undo removes them when empty. */
  created_dirs: z.array(RelativePathSchema),
  entries: z.array(ManifestEntrySchema),
});

export type BackupManifest = z.infer<typeof BackupManifestSchema>;

/** A manifest folder that undo refused, and why. */
export interface RefusedManifest {
  run_id: string;
  reason: string;
}

/** The folder that holds every run's backups. */
export function backupsRoot(workspaceRoot: string): string {
  return path.join(workspaceRoot, ".builder", "backups");
}

/** The folder of one run's backups. */
export function backupDir(workspaceRoot: string, runId: string): string {
  return path.join(backupsRoot(workspaceRoot), checkRunId(runId));
}

/** Refuses run ids that could name a path outside the backups folder. */
export function checkRunId(runId: string): string {
  if (!RunIdSchema.safeParse(runId).success) {
    throw new UsageError(
      `"${runId}" is not a run id. Run ids look like 20250101T120000-a1b2c3; list them with: ls .builder/backups`,
      { run_id: runId },
    );
  }
  return runId;
}

/**
 * The temp file a run writes `relative`'s new content to before renaming it over the target: beside
 * the target (a rename must not cross file systems), with a name that says which run left it, and
 * recorded in the run's manifest before it exists, so that a crash leaves it findable and the next
 * apply or undo sweeps it.
 */
export function tempPathFor(relative: string, runId: string): string {
  const name = path.posix.basename(relative);
  const plain = `.${name}.builder-${runId}.tmp`;
  // A name near the 255-byte limit cannot be extended: its temp file is named by a hash of it instead.
  const temp =
    Buffer.byteLength(plain) <= MAX_NAME_BYTES ? plain : `.${sha256(name).slice(0, 16)}.builder-${runId}.tmp`;
  return path.posix.join(path.posix.dirname(relative), temp);
}

/**
 * Writes a run's manifest atomically and signs it. The signature file lists the HMACs of both the old
 * and the new manifest while the manifest is replaced, so a crash at any point leaves a manifest that
 * verifies.
 */
export async function writeManifest(workspaceRoot: string, manifest: BackupManifest): Promise<void> {
  const dir = backupDir(workspaceRoot, manifest.run_id);
  const file = path.join(dir, "manifest.json");
  const macFile = path.join(dir, "manifest.hmac");
  const key = await loadOrCreateManifestKey(workspaceRoot);
  const bytes = Buffer.from(JSON.stringify({ ...manifest, updated_at: new Date().toISOString() }, null, 2) + "\n");
  const mac = manifestMac(key, bytes);
  const current = await readFile(file).catch(() => undefined);
  // Through the checked .builder folders: no link swapped in sends a manifest elsewhere.
  await writeBuilderFile(
    workspaceRoot,
    macFile,
    (current ? [mac, manifestMac(key, current)] : [mac]).join("\n") + "\n",
  );
  await writeBuilderFile(workspaceRoot, file, bytes);
  if (current) await writeBuilderFile(workspaceRoot, macFile, mac + "\n");
}

/**
 * Reads one run's manifest and proves it trustworthy: signed with this workspace's key, well formed,
 * and naming only paths inside the workspace. A usage error when there is none;
 * {@link BackupUntrustedError} (or the sandbox's escape error) when it cannot be trusted.
 */
export async function readManifest(sandbox: WorkspaceSandbox, runId: string): Promise<BackupManifest> {
  const root = sandbox.root;
  const file = path.join(backupDir(root, runId), "manifest.json");
  const bytes = await readFile(file).catch(() => undefined);
  if (!bytes)
    throw new UsageError(
      `No backups for run ${runId} in ${backupsRoot(root)}. Check the run id (ls .builder/backups) and the --workspace.`,
      { run_id: runId },
    );
  return verifyManifest(sandbox, runId, bytes, await loadManifestKey(root));
}

/**
 * Every manifest this workspace signed, well formed, newest first, and the manifest folders that were
 * refused. Folders without a manifest are skipped: the manifest is written before any file changes,
 * so they changed nothing. Only verified manifests are ordered, so a foreign one dated in the future
 * is never first. Their paths are not checked yet (that takes the file system, per path): call
 * {@link checkManifestPaths} on each manifest before using its paths.
 */
export async function listManifests(
  sandbox: WorkspaceSandbox,
  filter: { status?: BackupManifest["status"] } = {},
): Promise<{ manifests: BackupManifest[]; refused: RefusedManifest[] }> {
  const root = sandbox.root;
  const names = await readdir(backupsRoot(root)).catch(() => [] as string[]);
  const key = await loadManifestKey(root);
  const manifests: BackupManifest[] = [];
  const refused: RefusedManifest[] = [];
  // In parallel: the time is file-system waits, and a workspace collects hundreds of runs.
  await Promise.all(
    names.map(async (name) => {
      if (!RunIdSchema.safeParse(name).success) return;
      const bytes = await readFile(path.join(backupsRoot(root), name, "manifest.json")).catch(() => undefined);
      if (!bytes) return;
      // A cheap look first (nothing in it is trusted yet): the sweep on every apply wants only "applying" runs.
      if (filter.status !== undefined && statusOf(bytes) !== filter.status) return;
      try {
        manifests.push(await verifyManifest(sandbox, name, bytes, key, { paths: false }));
      } catch (error) {
        refused.push({ run_id: name, reason: (error as Error).message });
      }
    }),
  );
  refused.sort((a, b) => (a.run_id < b.run_id ? -1 : 1));
  manifests.sort((a, b) =>
    a.created_at === b.created_at ? (a.run_id < b.run_id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1,
  );
  return { manifests, refused };
}

function statusOf(bytes: Buffer): unknown {
  try {
    return (JSON.parse(bytes.toString("utf8")) as { status?: unknown }).status;
  } catch {
    return undefined;
  }
}

function untrustedManifest(workspaceRoot: string, runId: string): (why: string) => BackupUntrustedError {
  const file = path.join(backupDir(workspaceRoot, runId), "manifest.json");
  return (why) =>
    new BackupUntrustedError(
      `The backup manifest of run ${runId} (${file}) was not written by Builder in this workspace: ${why}. ` +
        `It may have come with a cloned or copied repository, or been edited; undo never uses such a manifest, so nothing was restored or removed.`,
      { run_id: runId, manifest: file },
    );
}

async function verifyManifest(
  sandbox: WorkspaceSandbox,
  runId: string,
  bytes: Buffer,
  key: Buffer | undefined,
  options = { paths: true },
): Promise<BackupManifest> {
  const dir = backupDir(sandbox.root, runId);
  const untrusted = untrustedManifest(sandbox.root, runId);
  if (!key)
    throw untrusted(
      `this workspace has no manifest key (${manifestKeyPath(sandbox.root)}), which Builder creates on its first apply here`,
    );
  const macs = (await readFile(path.join(dir, "manifest.hmac"), "utf8").catch(() => ""))
    .split("\n")
    .map((line) => line.trim());
  if (!macMatches(key, bytes, macs))
    throw untrusted("its signature (manifest.hmac) is missing or does not match this workspace's key");
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw untrusted(`it is not valid JSON (${(error as Error).message})`);
  }
  const parsed = BackupManifestSchema.safeParse(value);
  if (!parsed.success) throw untrusted(`it is malformed (${describeIssues(parsed.error)})`);
  const manifest = parsed.data;
  if (manifest.run_id !== runId) throw untrusted(`it names run ${manifest.run_id}, not the folder's run`);
  if (options.paths) await checkManifestPaths(sandbox, manifest);
  return manifest;
}

/**
 * Every path a manifest names must be a canonical workspace-relative path that the sandbox resolves
 * inside the workspace; temp names, backup names and created folders must be exactly those Builder
 * derives from the entries, so that a manifest cannot name anything else to remove.
 */
export async function checkManifestPaths(sandbox: WorkspaceSandbox, manifest: BackupManifest): Promise<void> {
  const untrusted = untrustedManifest(sandbox.root, manifest.run_id);
  const canonical = async (p: string, what: string): Promise<void> => {
    let relative: string;
    try {
      relative = sandbox.relative(p);
    } catch {
      throw untrusted(`its ${what} ${JSON.stringify(p)} is not a path inside the workspace`);
    }
    if (relative !== p) throw untrusted(`its ${what} ${JSON.stringify(p)} is not a canonical workspace-relative path`);
    await sandbox.resolveInside(p);
  };
  const created: string[] = [];
  for (const entry of manifest.entries) {
    await canonical(entry.path, "entry");
    if (
      (entry.action === "create") !== (entry.before === null) ||
      (entry.action === "delete") !== (entry.after === null)
    )
      throw untrusted(`its entry ${entry.path} contradicts itself`);
    if (entry.before && entry.before.backup !== `files/${entry.path}`)
      throw untrusted(`its backup name for ${entry.path} is not files/${entry.path}`);
    if (entry.temp !== undefined) {
      if (entry.temp !== tempPathFor(entry.path, manifest.run_id))
        throw untrusted(`its temp file ${JSON.stringify(entry.temp)} is not the one Builder uses for ${entry.path}`);
      await canonical(entry.temp, "temp file");
    }
    if (entry.action === "create") created.push(entry.path);
  }
  for (const dir of manifest.created_dirs) {
    await canonical(dir, "created folder");
    if (!created.some((file) => file.startsWith(`${dir}/`)))
      throw untrusted(`its created folder ${JSON.stringify(dir)} holds none of the files it created`);
  }
}
