import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createProgram } from "./cli/program.js";
import { ConfigFileSchema } from "./config/schema.js";
import { EXIT_CODES } from "./errors/errors.js";
import { threadPitfall } from "./doctor/pitfalls.js";
import { BuilderTaskSchema, CodeSuggestionSchema, VerificationSchema } from "./task/schema.js";

/**
 * README.md is the project's contract with a new user: its first command installs, its second runs the
 * offline demo, its test command is what CI runs, and every command, flag, config key and exit code it
 * shows must exist. These checks read the README and compare it with the code; none runs a model.
 */
const read = (relative: string): string => readFileSync(new URL(relative, import.meta.url), "utf8");
const README = read("../README.md");

/** The text of a `## title` section, up to the next `## ` heading. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** Fenced code blocks of a language, in order. */
function codeBlocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1] ?? "");
}

/** The commands of a bash block: comments and blank lines removed. */
function commands(block: string): string[] {
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/** The cells of a section's Markdown table rows (header and separator left out); `\|` stays inside a cell. */
function tableRows(text: string): string[][] {
  const rows = text.split("\n").filter((line) => line.startsWith("|"));
  return rows.slice(2).map((row) =>
    row
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");

/**
 * Whether a command runs by itself: it has no subcommands, or it takes arguments of its own besides
 * them (`builder eval [suite]` runs, `builder eval compare` is its subcommand; `builder dataset` only groups).
 */
const runsItself = (command: Command): boolean =>
  command.commands.length === 0 || command.registeredArguments.length > 0;

/** Every command of the program as its words ("run", "dataset export", "eval", "eval compare"), leaving out commander's help. */
function commandPaths(command: Command, prefix: string[] = []): string[] {
  return command.commands.flatMap((sub) => {
    const words = [...prefix, sub.name()];
    return [...(runsItself(sub) ? [words.join(" ")] : []), ...commandPaths(sub, words)];
  });
}

function findCommand(words: string[]): Command | undefined {
  let current: Command | undefined = createProgram();
  for (const word of words) current = current?.commands.find((c) => c.name() === word);
  return current;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

const longFlags = (command: Command): string[] => [...command.options.map((o) => o.long ?? ""), "--help"];

describe("README.md", () => {
  it("starts with the install command and the offline demo", () => {
    const first = codeBlocks(README, "bash")[0] ?? "";
    expect(commands(first)).toEqual(["npm ci", "npm run demo"]);
    const scripts = (JSON.parse(read("../package.json")) as { scripts: Record<string, string> }).scripts;
    expect(scripts.demo).toMatch(/node dist\/cli\/main\.js demo$/);
  });

  it("gives as its test command exactly what CI (.ci/run) runs after installing", () => {
    // .ci/ helpers install system packages (bubblewrap for the sandbox tests) before npm.
    const ci = commands(read("../.ci/run")).filter((line) => !/^(set|cd|\.ci\/)\b/.test(line));
    const testCommand = commands(codeBlocks(section("Development"), "bash")[0] ?? "")[0];
    expect(ci).toHaveLength(2);
    expect(ci[0]).toMatch(/^npm ci\b/);
    expect(ci[1]).toBe(testCommand);
  });

  it("mentions only `builder` commands the CLI has", () => {
    const mentions = [...README.matchAll(/(?<![\w./-])builder ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g)];
    expect(mentions.length).toBeGreaterThan(20);
    for (const [text, name, next] of mentions) {
      const command = findCommand([name ?? ""]);
      expect(command, `README mentions "${text}"`).toBeDefined();
      if (command && !runsItself(command))
        expect(findCommand([name ?? "", next ?? ""]), `README mentions "${text}"`).toBeDefined();
    }
  });

  it("lists every command in its commands table, once", () => {
    const listed = tableRows(section("Commands")).map(
      (row) => /^builder ([a-z ]+?)(?: [<[]|$)/.exec(backticked(row[0] ?? "")[0] ?? "")?.[1],
    );
    expect(listed.sort()).toEqual(
      commandPaths(createProgram())
        .filter((p) => p !== "help")
        .sort(),
    );
  });

  it("shows only flags the commands accept", () => {
    const program = createProgram();
    const known = new Set([...allCommands(program).flatMap(longFlags), "--version"]);
    // node --test, a test runner Builder detects; claude mcp add --transport, Claude Code's.
    const foreign = new Set(["--test", "--transport"]);
    for (const [flag] of README.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)) {
      if (!foreign.has(flag)) expect(known, `README shows ${flag}`).toContain(flag);
    }
    // In example command lines, each flag must belong to that very command.
    for (const line of codeBlocks(README, "bash").flatMap(commands)) {
      const invocation = /(?:^|\| )builder ((?:[a-z-]+ ?)+)(.*)$/.exec(line);
      if (!invocation) continue;
      const words = (invocation[1] ?? "").trim().split(" ");
      const path = findCommand(words.slice(0, 2)) ? words.slice(0, 2) : words.slice(0, 1);
      const command = findCommand(path);
      expect(command, line).toBeDefined();
      for (const [flag] of line.matchAll(/(?<![\w-])--[a-z][a-z-]*/g))
        expect(longFlags(command as Command), line).toContain(flag);
    }
  });

  it("has an exit-code table that matches EXIT_CODES, every error code once", () => {
    const rows = tableRows(section("Exit codes"));
    const seen: string[] = [];
    for (const [exit, codes] of rows) {
      for (const code of backticked(codes ?? "")) {
        expect(EXIT_CODES[code as keyof typeof EXIT_CODES], `${code} in the row for exit ${exit}`).toBe(Number(exit));
        seen.push(code);
      }
    }
    expect(seen.sort()).toEqual(Object.keys(EXIT_CODES).sort());
    expect(rows.map((row) => row[0])).toContain("0");
    expect(new Set(rows.map((row) => row[0])).size).toBe(rows.length);
  });

  it("has a configuration table of real keys that covers the schema, each key once", () => {
    const keys = tableRows(section("Configuration"))
      .filter((row) => !(row[0] ?? "").startsWith("**"))
      .flatMap((row) => backticked(row[0] ?? ""));
    for (const key of keys) expect(schemaAt(ConfigFileSchema, key.split(".")), `config key ${key}`).toBeDefined();
    expect(new Set(keys).size).toBe(keys.length);
    const shape = ConfigFileSchema.shape;
    const required = Object.keys(shape)
      .filter((key) => key !== "$schema")
      .flatMap((key) =>
        ["options", "verify", "ollama", "openai"].includes(key)
          ? Object.keys(objectShape(shape[key as keyof typeof shape])).map((k) => `${key}.${k}`)
          : [key],
      );
    for (const key of required)
      expect(
        keys.some((listed) => listed === key || listed.startsWith(`${key}.`)),
        `config key ${key} is in the table`,
      ).toBe(true);
    for (const row of tableRows(section("Configuration"))) {
      const option = /^options\.(\w+)$/.exec(backticked(row[0] ?? "")[0] ?? "")?.[1];
      const variable = backticked(row[1] ?? "").find((v) => v.startsWith("BUILDER_"));
      if (option && variable) expect(variable).toBe(`BUILDER_${option.toUpperCase()}`);
    }
  });

  it("has JSON examples that the schemas accept", () => {
    const [config] = codeBlocks(section("Configuration"), "json");
    expect(ConfigFileSchema.safeParse(JSON.parse(config ?? "")).error).toBeUndefined();
    expect(ConfigFileSchema.safeParse(JSON.parse(read("../examples/crm/builder.config.json"))).error).toBeUndefined();
    const [task, suggestion] = codeBlocks(section("The task protocol"), "json");
    expect(BuilderTaskSchema.safeParse(JSON.parse(task ?? "")).error).toBeUndefined();
    expect(CodeSuggestionSchema.safeParse(JSON.parse(suggestion ?? "")).error).toBeUndefined();
    for (const piped of section("The task protocol").matchAll(/echo '(\{.*\})' \| builder run/g)) {
      expect(BuilderTaskSchema.safeParse(JSON.parse(piped[1] ?? "")).error).toBeUndefined();
    }
    const [verification] = codeBlocks(section("Verification and repair"), "json");
    expect(VerificationSchema.safeParse(JSON.parse(`{${verification ?? ""}}`).verification).error).toBeUndefined();
  });
});

describe("README.md: the sentences the seed team's first day checked", () => {
  const adapter = section("Coming from an Ollama adapter");

  it("pipes a smoke test that names no file, and says what such a task allows: an explanation alone", () => {
    const [block] = codeBlocks(adapter, "bash");
    const piped = /echo '(\{.*\})' \| builder run/.exec(block ?? "")?.[1];
    const task = BuilderTaskSchema.parse(JSON.parse(piped ?? ""));
    expect(task.files).toEqual([]);
    expect(adapter).toContain("The smoke test names no file, so its answer is an explanation alone");
    expect(section("The task protocol")).toMatch(/A task with `"files": \[\]` names nothing, so it allows no change/);
    // The old claims are gone: the setup does not work "as it is", and the smoke test is not "one warning, exit 0" by luck.
    expect(README).not.toContain("That setup works as it is");
    expect(README).not.toContain("one warning, exit 0");
  });

  it("gives one figure for num_thread above the cores, the one run, serve, eval and doctor print", () => {
    const message = threadPitfall({
      options: { num_thread: 16 },
      cores: { physical: 2, logical: 2, source: "cpuinfo" },
    })?.message;
    expect(message).toContain("2.4 tokens/s instead of several hundred");
    expect(README).toContain("2.4 tokens/s");
    expect(README).not.toMatch(/\d+× slower|\d+ times slower/);
  });

  it("says where gpu_index applies, that init makes the move final, and what Builder RSS includes", () => {
    expect(adapter).toContain("only the embedded engine uses");
    expect(adapter).toContain('"migrated_from": [".ollamarc", …]');
    expect(ConfigFileSchema.shape.migrated_from).toBeDefined();
    expect(README).not.toMatch(/Builder RSS[^.]*model included/);
    expect(README).toContain(
      "the model's memory\n  row names the process that holds it (this process, the Builder host with its pid, or the server)",
    );
  });

  it("bounds answers only where the backend enforces the grammar, and draws the load bar only in Builder's own process", () => {
    expect(README).toContain("The bound holds\nwhere the backend enforces the grammar or the schema");
    expect(README).toContain("loading a model in Builder's own process draws a progress bar");
  });
});

/** The fields of an object schema (optional wrappers removed); empty for anything else. */
function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  let current: z.ZodType | undefined = schema;
  while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  return current instanceof z.ZodObject ? (current.shape as Record<string, z.ZodType>) : {};
}

/** The schema at a dotted key path, or undefined when the config has no such key. */
function schemaAt(schema: z.ZodType, path: string[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const key of path) current = current ? objectShape(current)[key] : undefined;
  return current;
}
