/** How log lines look on stderr: JSON lines for machines, or one readable line each for people. */
export type LogFormat = "json" | "pretty";

export const LOG_FORMATS: readonly LogFormat[] = ["json", "pretty"];

const LEVEL_COLORS: Readonly<Record<string, string>> = {
  fatal: "\u001b[41;97m",
  error: "\u001b[31m",
  warn: "\u001b[33m",
  info: "\u001b[36m",
  debug: "\u001b[90m",
  trace: "\u001b[90m",
};
const DIM = "\u001b[2m";
const RESET = "\u001b[0m";

/**
 * The format when none is asked for: pretty on a terminal, JSON otherwise (pipes, files, CI), so
 * scripts always get JSON lines.
 */
export function defaultLogFormat(isTty: boolean): LogFormat {
  return isTty ? "pretty" : "json";
}

/** True unless NO_COLOR is set (https://no-color.org: any non-empty value). */
export function colorAllowed(env: NodeJS.ProcessEnv): boolean {
  return !env.NO_COLOR;
}

/**
 * One pino JSON line as a readable line: `12:03:04 WARN  message  key=value …`, coloured by level
 * when `color`. Lines that are not JSON pass through unchanged.
 */
export function formatLogLine(line: string, color: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, ...rest } = record;
  const levelText = String(level ?? "info");
  const clock = typeof time === "string" ? time.slice(11, 19) : "";
  // The run metrics line carries some twenty fields (all in metrics.jsonl): on a terminal, the few a person reads.
  const fields =
    rest.event === "run"
      ? runSummary(rest)
      : Object.entries(rest)
          .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
          .join(" ");
  const label = levelText.toUpperCase().padEnd(5);
  const paint = (code: string | undefined, text: string): string => (color && code ? `${code}${text}${RESET}` : text);
  return (
    [paint(DIM, clock), paint(LEVEL_COLORS[levelText], label), String(msg ?? ""), fields ? paint(DIM, fields) : ""]
      .filter((part) => part !== "")
      .join(" ") + "\n"
  );
}

/** A pino destination that writes each JSON line to `target` as a readable line. */
export function prettyDestination(target: NodeJS.WritableStream, color: boolean): { write(line: string): boolean } {
  return {
    write(chunk: string): boolean {
      const text = chunk
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => formatLogLine(line, color))
        .join("");
      return target.write(text);
    },
  };
}

/** The run metrics line in a few words: `ollama qwen… 1383 → 341 tokens, 185.5 tok/s, first token 3168 ms, 5471 ms, UNVERIFIED`. */
function runSummary(run: Record<string, unknown>): string {
  const parts = [
    `${String(run.backend ?? "")} ${String(run.model ?? "")}`.trim(),
    `${String(run.prompt_tokens ?? 0)} → ${String(run.generated_tokens ?? 0)} tokens`,
    typeof run.tokens_per_sec === "number" ? `${run.tokens_per_sec} tok/s` : "",
    typeof run.time_to_first_token_ms === "number" ? `first token ${Math.round(run.time_to_first_token_ms)} ms` : "",
    typeof run.total_ms === "number" ? `${Math.round(run.total_ms)} ms` : "",
    typeof run.verdict === "string" ? run.verdict : run.success === false ? `failed: ${String(run.error ?? "")}` : "",
  ];
  return parts.filter((part) => part !== "").join(", ");
}
