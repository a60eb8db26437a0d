/**
 * Ollama Modelfile syntax: a reader that follows the rules of Ollama's own parser (parser/parser.go),
 * used to validate what `builder modelfile` writes, and the quoting that survives it.
 *
 * The rules that matter: an instruction is a name, whitespace, then a value up to the end of the line;
 * a value that starts with `"` or `"""` continues over newlines until, at the end of a line, it is a
 * complete quoted string. There are no escape sequences, and non-printable characters are dropped.
 */

/** Instructions Ollama accepts (case-insensitive). */
export const INSTRUCTIONS = [
  "from",
  "license",
  "template",
  "system",
  "adapter",
  "draft",
  "renderer",
  "parser",
  "parameter",
  "message",
  "requires",
] as const;

/** PARAMETER names Ollama reads, with their value types. */
export const PARAMETER_TYPES: Readonly<Record<string, "int" | "float" | "bool" | "string">> = {
  num_ctx: "int",
  num_batch: "int",
  num_gpu: "int",
  main_gpu: "int",
  use_mmap: "bool",
  num_thread: "int",
  num_keep: "int",
  seed: "int",
  num_predict: "int",
  top_k: "int",
  top_p: "float",
  min_p: "float",
  typical_p: "float",
  repeat_last_n: "int",
  temperature: "float",
  repeat_penalty: "float",
  presence_penalty: "float",
  frequency_penalty: "float",
  stop: "string",
};

/** Parameters Ollama still parses but ignores (it prints "parameter … is deprecated"). */
export const DEPRECATED_PARAMETERS = [
  "penalize_newline",
  "low_vram",
  "f16_kv",
  "logits_all",
  "vocab_only",
  "use_mlock",
  "mirostat",
  "mirostat_tau",
  "mirostat_eta",
];

/** One instruction as Ollama would read it. `name` is "model" for FROM and the parameter name for PARAMETER. */
export interface ModelfileCommand {
  name: string;
  /** The value; for MESSAGE "role: content". */
  args: string;
  /** 1-based line where the instruction ended. */
  line: number;
}

/** A problem in a Modelfile. */
export interface ModelfileProblem {
  line: number;
  message: string;
}

/** The outcome of {@link validateModelfile}. */
export interface ModelfileValidation {
  ok: boolean;
  commands: ModelfileCommand[];
  errors: ModelfileProblem[];
  warnings: ModelfileProblem[];
}

type State = "nil" | "name" | "value" | "parameter" | "message" | "comment";

const isAlpha = (c: string): boolean => /^[A-Za-z]$/.test(c);
const isDigit = (c: string): boolean => /^[0-9]$/.test(c);
const isSpace = (c: string): boolean => c === " " || c === "\t";
const isNewline = (c: string): boolean => c === "\r" || c === "\n";
/** Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export const isPrintable = (c: string): boolean => c === " " || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c);

/** Reads a Modelfile the way Ollama does; stops at the first syntax error, as Ollama does. */
export function parseModelfile(text: string): { commands: ModelfileCommand[]; error?: ModelfileProblem } {
  const commands: ModelfileCommand[] = [];
  let state: State = "nil";
  let buffer = "";
  let name = "";
  let role = "";
  let line = 1;
  const fail = (message: string): { commands: ModelfileCommand[]; error: ModelfileProblem } => ({
    commands,
    error: { line, message },
  });
  for (const c of text.replace(/^\uFEFF/, "")) {
    if (isNewline(c)) line += 1;
    const step = nextState(c, state);
    if ("error" in step) return fail(step.error);
    let next = step.next;
    if (next !== state) {
      if (state === "name") {
        const word = buffer.toLowerCase();
        if (!(INSTRUCTIONS as readonly string[]).includes(word))
          return fail(`"${buffer}" is not an instruction; use one of ${INSTRUCTIONS.join(", ")}`);
        if (word === "from") name = "model";
        else if (word === "parameter") next = "parameter";
        else if (word === "message") {
          next = "message";
          name = "message";
        } else name = word;
      } else if (state === "parameter") {
        name = buffer;
      } else if (state === "message") {
        if (!["system", "user", "assistant"].includes(buffer))
          return fail(`message role "${buffer}" must be one of system, user, assistant`);
        role = buffer;
      } else if (state === "value") {
        const value = unquote(buffer.trim());
        if (value === undefined || isSpace(c)) {
          buffer += c;
          continue;
        }
        commands.push({ name, args: role ? `${role}: ${value}` : value, line: line - (isNewline(c) ? 1 : 0) });
        role = "";
      }
      buffer = "";
      state = next;
    }
    if (step.keep && isPrintable(c)) buffer += c;
  }
  if (state === "value") {
    const value = unquote(buffer.trim());
    if (value === undefined) return fail('unexpected end of file inside a quoted value: a closing " or """ is missing');
    commands.push({ name, args: role ? `${role}: ${value}` : value, line });
  } else if (state !== "nil" && state !== "comment") {
    return fail("unexpected end of file: an instruction has no value");
  }
  if (!commands.some((command) => command.name === "model"))
    return { commands, error: { line: 0, message: "no FROM line" } };
  return { commands };
}

function nextState(c: string, state: State): { next: State; keep: boolean } | { error: string } {
  switch (state) {
    case "nil":
      if (c === "#") return { next: "comment", keep: false };
      if (isSpace(c) || isNewline(c)) return { next: "nil", keep: false };
      return { next: "name", keep: true };
    case "name":
      if (isAlpha(c)) return { next: "name", keep: true };
      if (isSpace(c)) return { next: "value", keep: false };
      return { error: "an instruction name must be followed by a space and a value" };
    case "value":
      if (isNewline(c) || isSpace(c)) return { next: "nil", keep: true };
      return { next: "value", keep: true };
    case "parameter":
      if (isAlpha(c) || isDigit(c) || c === "_") return { next: "parameter", keep: true };
      if (isSpace(c)) return { next: "value", keep: false };
      return { error: "a PARAMETER name is letters, digits and _, followed by a space and a value" };
    case "message":
      if (isAlpha(c)) return { next: "message", keep: true };
      if (isSpace(c)) return { next: "value", keep: false };
      return { error: "MESSAGE needs a role (system, user, assistant), a space and a value" };
    case "comment":
      return isNewline(c) ? { next: "nil", keep: false } : { next: "comment", keep: false };
  }
}

/** Ollama's unquote: `"""…"""`, `"…"`, or bare; undefined while a quoted value is still open. */
function unquote(value: string): string | undefined {
  if (value.startsWith('"""')) return value.length >= 6 && value.endsWith('"""') ? value.slice(3, -3) : undefined;
  if (value.startsWith('"')) return value.length >= 2 && value.endsWith('"') ? value.slice(1, -1) : undefined;
  return value;
}

/**
 * Parses and checks a Modelfile: syntax (as Ollama reads it), a FROM line, PARAMETER names and value
 * types. Deprecated parameters and repeated SYSTEM lines are warnings.
 */
export function validateModelfile(text: string): ModelfileValidation {
  const { commands, error } = parseModelfile(text);
  const errors: ModelfileProblem[] = error ? [error] : [];
  const warnings: ModelfileProblem[] = [];
  const known = new Set<string>([...INSTRUCTIONS.filter((i) => i !== "from" && i !== "parameter"), "model"]);
  for (const command of commands) {
    if (known.has(command.name)) continue;
    if (DEPRECATED_PARAMETERS.includes(command.name)) {
      warnings.push({
        line: command.line,
        message: `PARAMETER ${command.name} is deprecated in Ollama and has no effect`,
      });
      continue;
    }
    const type = PARAMETER_TYPES[command.name];
    if (!type) {
      errors.push({
        line: command.line,
        message: `PARAMETER ${command.name} is not an Ollama parameter (valid: ${Object.keys(PARAMETER_TYPES).join(", ")})`,
      });
    } else if (!valueHasType(command.args, type)) {
      errors.push({
        line: command.line,
        message: `PARAMETER ${command.name} needs a${type === "int" ? "n integer" : ` ${type}`} value, got "${command.args}"`,
      });
    }
  }
  if (commands.filter((c) => c.name === "system").length > 1)
    warnings.push({ line: 0, message: "more than one SYSTEM instruction: only the last one is used" });
  return { ok: errors.length === 0, commands, errors, warnings };
}

function valueHasType(value: string, type: "int" | "float" | "bool" | "string"): boolean {
  if (type === "int") return /^-?\d+$/.test(value);
  if (type === "float") return value.trim() !== "" && Number.isFinite(Number(value));
  if (type === "bool") return /^(true|false)$/i.test(value);
  return true;
}

/** What {@link quoteText} had to change so that Ollama reads the text back as written. */
export interface QuotedText {
  /** The `"""…"""` value to write after the instruction. */
  value: string;
  /** The text Ollama will read (equal to the input unless something had to change). */
  text: string;
  changes: string[];
}

/**
 * Wraps text in `"""` so that Ollama reads it back unchanged, adjusting only what its parser cannot
 * carry (it has no escapes): line breaks become \n; non-printable characters, which Ollama drops, are
 * dropped here too (Unicode spaces become plain spaces); and a run of 3+ double quotes at the end of a
 * line, which would close the value early, becomes single quotes (''' — the same in Python).
 */
export function quoteText(input: string): QuotedText {
  const changes: string[] = [];
  let text = input.replace(/\r\n?/g, "\n");
  const spaced = text.replace(/(?! )\p{Zs}/gu, " ");
  if (spaced !== text) changes.push("Unicode spaces became plain spaces");
  text = [...spaced].filter((c) => c === "\n" || c === "\t" || isPrintable(c)).join("");
  if (text !== spaced) changes.push("non-printable characters were dropped (Ollama drops them)");
  const lines = text.split("\n");
  let closed = false;
  for (let i = 0; i < lines.length - 1; i += 1) {
    const fixed = lines[i].replace(
      /("{3,})(\s*)$/,
      (_m, quotes: string, space: string) => "'".repeat(quotes.length) + space,
    );
    if (fixed !== lines[i]) {
      lines[i] = fixed;
      closed = true;
    }
  }
  if (closed) changes.push("\"\"\" at the end of a line became ''' (it would end the Modelfile value early)");
  text = lines.join("\n");
  return { value: `"""${text}"""`, text, changes };
}
