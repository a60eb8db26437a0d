import { mkdir, open } from "node:fs/promises";
import path from "node:path";

/**
 * Appends one JSON line with a single O_APPEND write, so that concurrent writers (several Builder
 * runs in one workspace) never interleave or half-write lines.
 */
export async function appendJsonLine(filePath: string, record: unknown): Promise<void> {
  const line = Buffer.from(JSON.stringify(record) + "\n", "utf8");
  await mkdir(path.dirname(filePath), { recursive: true });
  const handle = await open(filePath, "a");
  try {
    const { bytesWritten } = await handle.write(line, 0, line.length);
    if (bytesWritten !== line.length) throw new Error(`short write to ${filePath}: ${bytesWritten} of ${line.length} bytes`);
  } finally {
    await handle.close();
  }
}
