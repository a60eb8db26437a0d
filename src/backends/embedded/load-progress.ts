/**
 * How far the embedded engine has got loading a model. The engine reports; whoever listens decides
 * whether and how to show it (the CLI draws bars on a terminal, and nothing otherwise).
 */
export interface LoadProgressListener {
  /** The model file is being loaded: `fraction` runs from above 0 to 1. */
  onModelLoad?(fraction: number): void;
  /** Thread calibration: `done` of `total` thread counts measured (0 before the first; `total` at the end). */
  onCalibration?(done: number, total: number): void;
  /** Loading is over (done or failed): a listener drawing bars removes them. */
  onDone?(): void;
}

let processListener: LoadProgressListener | undefined;

/** Sets the listener every engine load of this process reports to unless its options name one (the CLI's, on a terminal). */
export function setLoadProgressListener(listener: LoadProgressListener | undefined): void {
  processListener = listener;
}

/** The listener set with {@link setLoadProgressListener}. */
export function loadProgressListener(): LoadProgressListener | undefined {
  return processListener;
}
