import { chmodSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { MIB } from "../format/numbers.js";
import { detectCores, parseCpuinfoPhysicalCores } from "./cpu-cores.js";
import { cudaSelectionFor, detectNvidiaGpus, parseNvidiaSmi, usableGpus, visibleGpus } from "./gpu.js";

describe("nvidia-smi parsing", () => {
  it("reads name, driver and memory in MiB, one GPU a line", () => {
    const gpus = parseNvidiaSmi(
      "NVIDIA GeForce RTX 4090, 550.54.14, 24564, 23012\nNVIDIA H100 80GB HBM3, 550.54.14, 81559, 81000\n",
    );
    expect(gpus).toEqual([
      {
        index: 0,
        name: "NVIDIA GeForce RTX 4090",
        driverVersion: "550.54.14",
        totalBytes: 24564 * MIB,
        freeBytes: 23012 * MIB,
      },
      {
        index: 1,
        name: "NVIDIA H100 80GB HBM3",
        driverVersion: "550.54.14",
        totalBytes: 81559 * MIB,
        freeBytes: 81000 * MIB,
      },
    ]);
  });

  it("skips lines it cannot read ([N/A] memory, blank lines)", () => {
    expect(parseNvidiaSmi("\nSome GPU, 1.0, [N/A], [N/A]\n")).toEqual([]);
  });

  it("runs the real nvidia-smi found on PATH and parses its answer", async () => {
    const bin = tempDir("builder-bin-");
    writeFiles(bin, { "nvidia-smi": '#!/bin/sh\necho "Test GPU, 1.2.3, 24564, 20000"\n' });
    chmodSync(path.join(bin, "nvidia-smi"), 0o755);
    const saved = process.env.PATH;
    process.env.PATH = `${bin}${path.delimiter}${saved ?? ""}`;
    try {
      const detection = await detectNvidiaGpus();
      expect(detection).toEqual({
        found: true,
        gpus: [{ index: 0, name: "Test GPU", driverVersion: "1.2.3", totalBytes: 24564 * MIB, freeBytes: 20000 * MIB }],
      });
    } finally {
      process.env.PATH = saved;
    }
  });

  it("reports a missing nvidia-smi as no GPU, with the reason", async () => {
    const saved = process.env.PATH;
    process.env.PATH = tempDir("builder-empty-path-");
    try {
      expect(await detectNvidiaGpus()).toEqual({
        found: false,
        reason: expect.stringContaining("not installed") as string,
      });
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("physical cores", () => {
  it("counts distinct (physical id, core id) pairs, not hyper-threads", () => {
    const cpu = (processor: number, physical: number, core: number): string =>
      `processor\t: ${processor}\nphysical id\t: ${physical}\ncore id\t\t: ${core}\n`;
    const cpuinfo = [cpu(0, 0, 0), cpu(1, 0, 1), cpu(2, 0, 0), cpu(3, 0, 1), cpu(4, 1, 0), cpu(5, 1, 1)].join("\n");
    expect(parseCpuinfoPhysicalCores(cpuinfo)).toBe(4);
  });

  it("returns undefined when there are no core ids", () => {
    expect(parseCpuinfoPhysicalCores("processor\t: 0\nBogoMIPS\t: 50\n")).toBeUndefined();
  });

  it("detects this machine's cores", () => {
    const cores = detectCores();
    expect(cores.physical).toBeGreaterThan(0);
    expect(cores.physical).toBeLessThanOrEqual(cores.logical);
  });
});

describe("the GPUs a CUDA program can use", () => {
  const gpus = parseNvidiaSmi(
    "NVIDIA GeForce RTX 5090, 570.86.10, 32607, 32100, GPU-5090aaaa-0000\nNVIDIA GeForce RTX 4090, 570.86.10, 24564, 24100, GPU-4090bbbb-0000\n",
  );

  it("reads the UUID nvidia-smi appends", () => {
    expect(gpus.map((g) => [g.index, g.name, g.uuid])).toEqual([
      [0, "NVIDIA GeForce RTX 5090", "GPU-5090aaaa-0000"],
      [1, "NVIDIA GeForce RTX 4090", "GPU-4090bbbb-0000"],
    ]);
  });

  it("honours CUDA_VISIBLE_DEVICES by index and by UUID prefix, in its order, ending at the first entry that names no GPU", () => {
    const names = (list: string | undefined): string[] => visibleGpus(gpus, list).map((g) => g.name.slice(-4));
    expect(names(undefined)).toEqual(["5090", "4090"]);
    expect(names("1")).toEqual(["4090"]);
    expect(names("GPU-4090bbbb,0")).toEqual(["4090", "5090"]);
    expect(names("")).toEqual([]);
    expect(names("-1,0")).toEqual([]);
    expect(names("0,7,1")).toEqual(["5090"]);
  });

  it("gpu_index is nvidia-smi's number for the card; the engine's CUDA variables select it in nvidia-smi's order", () => {
    expect(usableGpus(gpus, {}, 1).map((g) => g.name)).toEqual(["NVIDIA GeForce RTX 4090"]);
    expect(usableGpus(gpus, { CUDA_VISIBLE_DEVICES: "1" }, 1).map((g) => g.index)).toEqual([1]);
    expect(usableGpus(gpus, { CUDA_VISIBLE_DEVICES: "0" }, 1)).toEqual([]);
    expect(cudaSelectionFor(1, {})).toEqual({ set: { CUDA_DEVICE_ORDER: "PCI_BUS_ID", CUDA_VISIBLE_DEVICES: "1" } });
    expect(cudaSelectionFor(1, { CUDA_VISIBLE_DEVICES: "0,1", CUDA_DEVICE_ORDER: "FASTEST_FIRST" })).toEqual({
      set: { CUDA_VISIBLE_DEVICES: "1" },
    });
    expect(cudaSelectionFor(1, { CUDA_VISIBLE_DEVICES: "0" }).note).toMatch(/CUDA_VISIBLE_DEVICES decides/);
  });
});
