import type { HostStatus, LoadedModel } from "../backends/host/host-admin.js";
import { formatBytes } from "../format/numbers.js";
import { memoryFitCheck, type MemoryFitInput } from "./memory-check.js";
import type { DoctorCheck } from "./types.js";

/**
 * The memory fit judged against what the machine's Builder host already holds: the configured model
 * already loaded with a window at least as large needs nothing more (runs use that copy); a smaller
 * window is reloaded in place (replaced, never duplicated); other models the host holds take their
 * share of the memory until the host unloads them (it unloads the least recently used idle one when
 * memory is needed).
 */
export function memoryFitAgainstHost(
  input: MemoryFitInput,
  host: HostStatus | undefined,
  modelPath: string | undefined,
): DoctorCheck {
  const alone = memoryFitCheck(input);
  const record = host?.record;
  if (!host || !record || host.models.length === 0) return alone;
  const who = `the Builder host (pid ${record.pid})`;
  const mine = host.models.find((m) => m.model_path === modelPath);
  const others = host.models.filter((m) => m !== mine);
  const details = { ...alone.details, host_pid: record.pid, host_models: host.models.map(describe) };
  if (mine && mine.context_length >= input.numCtx) {
    return {
      id: "memory-fit",
      status: "ok",
      message: `Fits: ${who} already holds this model with a ${mine.context_length}-token window (${formatBytes(mine.size)}); runs at num_ctx ${input.numCtx} use that copy, none other loads.`,
      details,
    };
  }
  const reload = mine
    ? ` ${who} holds it now with a ${mine.context_length}-token window; a run at ${input.numCtx} reloads it at the larger window (the copy is replaced, not duplicated).`
    : "";
  if (others.length === 0) return { ...alone, message: alone.message + reload, details };
  const held = others.reduce((sum, m) => sum + (input.budget.kind === "gpu" ? m.size_vram : m.size), 0);
  const names = others.map((m) => m.name).join(", ");
  const beside = memoryFitCheck({
    ...input,
    budget: {
      ...input.budget,
      bytes: Math.max(0, input.budget.bytes - held),
      label: `${input.budget.label}, less ${formatBytes(held)} ${who} holds for ${names}`,
    },
  });
  if (beside.status === "ok" || alone.status !== "ok") return { ...beside, message: beside.message + reload, details };
  return {
    ...beside,
    status: "warn",
    message: `${beside.message} It fits once ${who} unloads ${names}, which it does when memory is needed and they are idle.${reload}`,
    fix: `Wait for ${names} to go idle, or unload it now: builder stop ${others[0]?.model_path ?? ""}.`,
    details,
  };
}

function describe(model: LoadedModel): Record<string, unknown> {
  return {
    model: model.model_path,
    context_length: model.context_length,
    size: model.size,
    size_vram: model.size_vram,
    busy: model.busy,
  };
}
