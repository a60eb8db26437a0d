import { describe, expect, it } from "vitest";
import { runningModelState } from "../backends/ollama/running-model.js";
import { describeBackend } from "../backends/descriptors.js";
import type { BackendInfo } from "../backends/types.js";
import { PS_CPU_ONLY, PS_WITH_CONTEXT } from "../http-client/__fixtures__/ollama-api.js";
import { parseReply } from "../http-client/http.js";
import { OllamaPsSchema } from "../http-client/ollama-replies.js";
import type { RunMetrics } from "./metrics.js";
import { formatReport } from "./report.js";

const metrics: RunMetrics = {
  event: "run",
  run_id: "r1",
  timestamp: "2026-01-01T00:00:00.000Z",
  task_id: "t1",
  backend: "ollama",
  model: "gemma3",
  load_ms: 0,
  prompt_tokens: 900,
  prompt_ms: 120,
  time_to_first_token_ms: 150,
  generated_tokens: 200,
  tokens_per_sec: 40,
  total_ms: 5200,
  success: true,
  error: null,
};

/** What the ollama backend knows after a generation: the /api/ps entry of `model` read into the info. */
const ollamaInfo = (fixture: string, model: string, requested: number): BackendInfo => {
  const state = runningModelState(parseReply(OllamaPsSchema, fixture), model);
  return {
    backend: "ollama",
    capabilities: describeBackend("ollama").capabilities,
    model,
    contextSize: state?.contextLength ?? requested,
    contextOrigin: state?.contextLength !== undefined ? "server" : "requested",
    requestedContextSize: requested,
    accelerator: state?.accelerator,
    device: "Ollama at http://127.0.0.1:11434",
    loadMs: 0,
  };
};

/** The value of one row of the report. */
function row(report: string, label: string): string | undefined {
  const line = report.split("\n").find((l) => l.trimStart().startsWith(`${label}  `));
  return line?.slice(line.indexOf(label) + label.length).trim();
}

describe("the --report verification block", () => {
  it("shows the server's context beside the one requested, and the VRAM share from /api/ps", () => {
    const report = formatReport(metrics, ollamaInfo(PS_WITH_CONTEXT, "gemma3:latest", 128000), "UNVERIFIED");
    expect(row(report, "context")).toBe("4096 tokens (server's; 128000 requested)");
    expect(row(report, "VRAM used")).toBe("5.0 GiB, 81% of the model's 6.1 GiB (Ollama /api/ps)");
    // Ollama's /api/ps names no GPU and counts no layers: said, not made up.
    expect(row(report, "GPU")).toBe("not reported by Ollama /api/ps");
    expect(row(report, "layers on GPU")).toBe("not reported by Ollama /api/ps");
  });

  it("says none (CPU) for a model wholly in system memory", () => {
    const report = formatReport(metrics, ollamaInfo(PS_CPU_ONLY, "mistral", 8192), "UNVERIFIED");
    expect(row(report, "GPU")).toBe("none (CPU)");
    expect(row(report, "layers on GPU")).toBe("none (CPU)");
    expect(row(report, "VRAM used")).toBe("none (CPU)");
    expect(row(report, "context")).toBe("8192 tokens (requested; the server does not report the context in effect)");
  });

  it("shows the embedded engine's GPU, layers and measured VRAM", () => {
    const info: BackendInfo = {
      backend: "embedded",
      capabilities: describeBackend("embedded").capabilities,
      model: "/models/qwen.gguf",
      contextSize: 8192,
      contextOrigin: "engine",
      requestedContextSize: 8192,
      accelerator: {
        source: "llama.cpp, measured",
        gpuNames: ["NVIDIA GeForce RTX 4090"],
        layers: { onGpu: 28, total: 29 },
        vramBytes: 6 * 1024 ** 3,
      },
      device: "GPU (cuda)",
      loadMs: 900,
    };
    const report = formatReport({ ...metrics, backend: "embedded" }, info, "VERIFIED");
    expect(row(report, "GPU")).toBe("NVIDIA GeForce RTX 4090");
    expect(row(report, "layers on GPU")).toBe("28 / 29");
    expect(row(report, "VRAM used")).toBe("6.0 GiB (llama.cpp, measured)");
    expect(row(report, "context")).toBe("8192 tokens (llama.cpp's context)");
  });

  it("shows the window Builder budgets with beside a larger configured one, and num_ctx auto's limit", () => {
    const capped: BackendInfo = {
      backend: "ollama",
      capabilities: describeBackend("ollama").capabilities,
      model: "qwen2.5-coder:7b",
      contextSize: 32768,
      contextOrigin: "requested",
      requestedContextSize: 128000,
      device: "ollama",
      loadMs: 0,
    };
    expect(row(formatReport(metrics, capped, "UNVERIFIED"), "context")).toBe(
      "32768 tokens (the most the model allows; 128000 requested)",
    );
    const auto: BackendInfo = {
      ...capped,
      backend: "embedded",
      capabilities: describeBackend("embedded").capabilities,
      contextSize: 16384,
      contextOrigin: "engine",
      requestedContextSize: undefined,
      autoWindowCap: 32768,
    };
    expect(row(formatReport({ ...metrics, backend: "embedded" }, auto, "UNVERIFIED"), "context")).toBe(
      "16384 tokens (llama.cpp's context; num_ctx auto, up to 32768)",
    );
  });

  it("says who holds the model from the backend's capabilities, or the record's backend before one started", () => {
    const ownEngine: BackendInfo = {
      backend: "embedded",
      capabilities: describeBackend("embedded").capabilities,
      model: "/models/qwen.gguf",
      contextSize: 8192,
      device: "CPU",
      loadMs: 0,
      memoryBytes: 64 * 1024 * 1024,
    };
    const inProcess = formatReport({ ...metrics, backend: "embedded" }, ownEngine, "VERIFIED");
    expect(row(inProcess, "model memory")).toBe(`64.0 MiB (held by this process, pid ${process.pid})`);
    expect(row(inProcess, "Builder RSS")).toMatch(/ MiB \(this process, model included\)$/);
    const onHost = formatReport({ ...metrics, backend: "embedded" }, { ...ownEngine, hostPid: 4242 }, "VERIFIED");
    expect(row(onHost, "model memory")).toBe("64.0 MiB (held by the Builder host, pid 4242)");
    expect(row(onHost, "Builder RSS")).toMatch(/ MiB \(this process, not the Builder host\)$/);
    // A run that failed before the backend started has no info: its record names the configured backend.
    expect(row(formatReport(metrics, undefined, "UNVERIFIED"), "Builder RSS")).toMatch(
      / MiB \(this process, not the model server\)$/,
    );
    expect(row(formatReport({ ...metrics, backend: "embedded" }, undefined, "UNVERIFIED"), "Builder RSS")).toMatch(
      / MiB \(this process, model included\)$/,
    );
  });

  it("says when a server reports nothing about its GPU", () => {
    const info: BackendInfo = {
      backend: "openai",
      capabilities: describeBackend("openai").capabilities,
      model: "m",
      contextSize: 8192,
      device: "server",
      loadMs: 0,
    };
    const report = formatReport({ ...metrics, backend: "openai" }, info, "UNVERIFIED");
    expect(row(report, "GPU")).toBe("not reported by the server");
    expect(row(report, "VRAM used")).toBe("not reported by the server");
  });
});
