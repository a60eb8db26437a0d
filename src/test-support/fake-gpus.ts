import { chmodSync } from "node:fs";
import path from "node:path";
import { tempDir, writeFiles } from "./fixtures.js";

/** nvidia-smi lines (name, driver, total MiB, free MiB, uuid) for a 5090 (GPU 0) and a 4090 (GPU 1). */
export const TWO_CARDS = [
  "NVIDIA GeForce RTX 5090, 570.86.10, 32607, 32100, GPU-5090aaaa-0000-1111-2222-333344445555",
  "NVIDIA GeForce RTX 4090, 570.86.10, 24564, 24100, GPU-4090bbbb-0000-1111-2222-333344445555",
];

/** A folder holding an `nvidia-smi` script that prints `lines`, to put first on PATH. */
export function fakeNvidiaSmiBin(lines: readonly string[] = TWO_CARDS): string {
  const bin = tempDir("builder-fake-smi-");
  writeFiles(bin, { "nvidia-smi": `#!/bin/sh\ncat <<'EOF'\n${lines.join("\n")}\nEOF\n` });
  chmodSync(path.join(bin, "nvidia-smi"), 0o755);
  return bin;
}
