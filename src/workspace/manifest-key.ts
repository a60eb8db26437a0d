import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { MANIFEST_KEY_FILE, ensureBuilderDir } from "./builder-dir.js";
import { createExclusive } from "./exclusive-create.js";

/**
 * Where the workspace's manifest key lives: `.builder/manifest-key.secret`, the secret that signs
 * backup manifests. It is created locally on the first apply (mode 0600) and ignored by git, so a
 * cloned repository never carries it: a manifest that came with a clone has no valid signature.
 */
export function manifestKeyPath(workspaceRoot: string): string {
  return path.join(workspaceRoot, ".builder", MANIFEST_KEY_FILE);
}

/** The workspace's key, created (0600) when there is none yet. */
export async function loadOrCreateManifestKey(workspaceRoot: string): Promise<Buffer> {
  await ensureBuilderDir(workspaceRoot);
  const existing = await loadManifestKey(workspaceRoot);
  if (existing) return existing;
  // Two processes may race here: the loser's create returns false and it reads the winner's key.
  await createExclusive(manifestKeyPath(workspaceRoot), randomBytes(32).toString("hex") + "\n", 0o600);
  const key = await loadManifestKey(workspaceRoot);
  if (!key) throw new Error(`${manifestKeyPath(workspaceRoot)} could not be read back after it was created`);
  return key;
}

/** The workspace's key, or undefined when Builder never applied anything here (a fresh clone). */
export async function loadManifestKey(workspaceRoot: string): Promise<Buffer | undefined> {
  const text = await readFile(manifestKeyPath(workspaceRoot), "utf8").catch(() => undefined);
  const hex = text?.trim() ?? "";
  return /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, "hex") : undefined;
}

/** HMAC-SHA256 of `bytes` under `key`, hex. */
export function manifestMac(key: Buffer, bytes: Uint8Array): string {
  return createHmac("sha256", key).update(bytes).digest("hex");
}

/** Whether one of `macs` (hex) is the HMAC of `bytes`; compared in constant time. */
export function macMatches(key: Buffer, bytes: Uint8Array, macs: readonly string[]): boolean {
  const expected = Buffer.from(manifestMac(key, bytes), "hex");
  return macs.some((mac) => /^[0-9a-f]{64}$/.test(mac) && timingSafeEqual(Buffer.from(mac, "hex"), expected));
}
