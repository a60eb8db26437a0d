#!/usr/bin/env node
import { setLogger, createLogger } from "../telemetry/logger.js";
import { contextBench } from "./context.js";
import { fitBench } from "./fit.js";
import { formatBench } from "./format.js";
import { hostBench } from "./host.js";
import { engineBench } from "./engine.js";
import { serveBench } from "./serve.js";
import { statsBench } from "./stats.js";
import { verifyBench } from "./verify.js";
import { warmBench } from "./warm.js";
import type { BenchModule, BenchSection, BenchSize } from "./types.js";

/**
 * Every bench module, in the order they run. `npm run bench -- <id>…` runs a subset; `-- --smoke` runs
 * each on its smallest setting, and `-- --list` names them (src/bench/bench.smoke.e2e.test.ts runs every
 * one so, and a broken module fails the suite).
 */
const MODULES: BenchModule[] = [
  engineBench,
  serveBench,
  contextBench,
  verifyBench,
  statsBench,
  formatBench,
  fitBench,
  warmBench,
  hostBench,
];

function formatSection(section: BenchSection): string {
  const lines = [`\n## ${section.title}`];
  for (const r of section.results) {
    const verdict = r.pass === undefined ? "" : r.pass ? "  PASS" : "  MISS";
    const target = r.target ? `  (target ${r.target})` : "";
    lines.push(`- ${r.name}: ${r.value} ${r.unit}${target}${verdict}`);
    if (r.detail) lines.push(`    ${r.detail}`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const size: BenchSize = args.includes("--smoke") ? "smoke" : "full";
  if (args.includes("--list")) {
    process.stdout.write(MODULES.map((m) => m.id).join("\n") + "\n");
    return;
  }
  const wanted = args.filter((a) => !a.startsWith("--"));
  const unknown = wanted.filter((id) => !MODULES.some((m) => m.id === id));
  if (unknown.length > 0) {
    process.stderr.write(
      `Unknown bench module(s): ${unknown.join(", ")}. Known: ${MODULES.map((m) => m.id).join(", ")}.\n`,
    );
    process.exit(2);
  }
  // Bench output is the figures; per-run logs would drown them.
  process.env.BUILDER_LOG_LEVEL ??= "warn";
  setLogger(createLogger());
  const sections: BenchSection[] = [];
  for (const module of MODULES.filter((m) => wanted.length === 0 || wanted.includes(m.id))) {
    process.stderr.write(`running bench: ${module.id}…\n`);
    const section = await module.run(size);
    sections.push(section);
    if (!json) process.stdout.write(formatSection(section) + "\n");
  }
  if (json) process.stdout.write(JSON.stringify(sections, null, 2) + "\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
