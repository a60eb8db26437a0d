import { SingleBar, Presets } from "cli-progress";
import { getLogger } from "../telemetry/logger.js";

/** Reports download progress: a bar on a terminal, a log line every 10% otherwise. */
export interface DownloadProgress {
  update: (status: { totalSize: number; downloadedSize: number }) => void;
  finish: () => void;
}

/** Creates the progress reporter for one download (it writes to stderr only). */
export function createDownloadProgress(label: string, showBar: boolean): DownloadProgress {
  const logger = getLogger();
  let bar: SingleBar | undefined;
  let lastDecile = -1;
  return {
    update({ totalSize, downloadedSize }) {
      if (showBar) {
        if (!bar) {
          bar = new SingleBar(
            {
              format: `downloading ${label} [{bar}] {percentage}% | {value}/{total} MiB`,
              stream: process.stderr,
              hideCursor: true,
            },
            Presets.shades_classic,
          );
          bar.start(toMiB(totalSize), 0);
        }
        bar.update(toMiB(downloadedSize));
        return;
      }
      const decile = totalSize > 0 ? Math.floor((downloadedSize / totalSize) * 10) : 0;
      if (decile !== lastDecile) {
        lastDecile = decile;
        logger.info({ model: label, downloadedBytes: downloadedSize, totalBytes: totalSize }, "downloading model");
      }
    },
    finish() {
      bar?.stop();
    },
  };
}

function toMiB(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
