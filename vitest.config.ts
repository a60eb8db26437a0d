import { readFileSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * What marks a test file that loads llama.cpp (a synthesized model, in this process or in a `builder`
 * child): its source names the engine, a synthesized model or `builder serve`.
 */
const ENGINE_MARKERS =
  /node-llama-cpp|backends\/embedded|synthesizeTestModel|writeSyntheticGguf|useServedSampleWorkspace|startServe|\.gguf\b/;

/**
 * The end-to-end files (`*.e2e.test.ts`: `builder` child processes) and those that load llama.cpp, read
 * from the tree so that a new test lands in the right group by what it does. Exported for the config's test.
 */
export function engineTestFiles(root = "src"): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".test.ts"))
    .map((file) => `${root}/${file}`)
    .filter((file) => file.endsWith(".e2e.test.ts") || ENGINE_MARKERS.test(readFileSync(file, "utf8")));
}

const ENGINE_FILES = engineTestFiles();

/**
 * The longest files, started first so that they do not run alone at the end: on a fresh clone vitest
 * knows no durations and starts the largest files first, and these are small.
 */
const LONGEST_FIRST = /bench\.smoke\.e2e\.test\.ts$/;

/** Vitest's order (group, failed, longest, largest first) with {@link LONGEST_FIRST} moved to the front. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [
      ...sorted.filter((f) => LONGEST_FIRST.test(f.moduleId)),
      ...sorted.filter((f) => !LONGEST_FIRST.test(f.moduleId)),
    ];
  }
}

/**
 * Engine files at once: the suite's llama.cpp runs take one thread each (num_thread 1, `--threads 1`),
 * so two of them share a 2-core machine without fighting for a core; more would.
 */
const ENGINE_WORKERS = 2;
/** Unit files at once: one per core (vitest's own default leaves a core free, which halves a 2-core machine). */
const UNIT_WORKERS = Math.max(availableParallelism(), ENGINE_WORKERS);
/**
 * Where both counts are equal (a 2-core machine, as CI) the two projects form one group: the short unit
 * files fill the time the long engine files leave a worker free, instead of running before them one by
 * one. On a larger machine the units run first on every core, then the engine files two at a time.
 */
const ENGINE_GROUP = UNIT_WORKERS === ENGINE_WORKERS ? 0 : 1;

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          exclude: ENGINE_FILES,
          maxWorkers: UNIT_WORKERS,
          // Unit files share a worker's module graph instead of importing zod, the schemas and the
          // library afresh per file (on 2 cores: 100 s → 59 s for this project). That asks of them what
          // they do today: mock no module (no vi.mock) and restore any process-wide state they change.
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "engine",
          include: ENGINE_FILES,
          maxWorkers: ENGINE_WORKERS,
          // As the units, and more so here: a worker loads llama.cpp once (with node-llama-cpp's check of
          // its binary, a process of its own) instead of once per file that runs the engine in-process.
          isolate: false,
          sequence: { groupOrder: ENGINE_GROUP },
        },
      },
    ],
  },
});
