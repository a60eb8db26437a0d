import { describe, expect, it } from "vitest";
import { parseModelfile, quoteText, validateModelfile } from "./syntax.js";

const systemOf = (modelfile: string): string | undefined =>
  parseModelfile(modelfile).commands.find((c) => c.name === "system")?.args;

describe("Modelfile syntax, read as Ollama's parser reads it", () => {
  it("reads FROM, PARAMETER, multi-line SYSTEM, MESSAGE and comments", () => {
    const text =
      '# comment\nFROM qwen2.5-coder:7b\nPARAMETER num_ctx 8192\nPARAMETER stop "<|im_end|>"\nSYSTEM """You are\n  careful."""\nMESSAGE user """hi"""\nMESSAGE assistant ok then\n';
    const { commands, error } = parseModelfile(text);
    expect(error).toBeUndefined();
    expect(commands.map((c) => [c.name, c.args])).toEqual([
      ["model", "qwen2.5-coder:7b"],
      ["num_ctx", "8192"],
      ["stop", "<|im_end|>"],
      ["system", "You are\n  careful."],
      ["message", "user: hi"],
      ["message", "assistant: ok then"],
    ]);
  });

  it.each([
    ["no FROM", "SYSTEM hi\n", "no FROM line"],
    ["an unclosed triple quote", 'FROM x\nSYSTEM """never closed\n', "closing"],
    ["an unknown instruction", "FROM x\nFOO bar\n", '"FOO" is not an instruction'],
    ["a bad message role", "FROM x\nMESSAGE robot hi\n", 'role "robot"'],
    ["an instruction without a value", "FROM x\nSYSTEM\n", "followed by a space"],
  ])("rejects %s", (_what, text, message) => {
    const validation = validateModelfile(text);
    expect(validation.ok).toBe(false);
    expect(validation.errors[0].message).toContain(message);
  });

  it("checks PARAMETER names and value types; deprecated ones are warnings", () => {
    const validation = validateModelfile(
      "FROM x\nPARAMETER num_gpu 1\nPARAMETER num_ctx lots\nPARAMETER gpu_layers 40\nPARAMETER f16_kv true\nPARAMETER temperature 0.2\n",
    );
    expect(validation.errors.map((e) => e.message)).toEqual([
      'PARAMETER num_ctx needs an integer value, got "lots"',
      expect.stringContaining("PARAMETER gpu_layers is not an Ollama parameter") as string,
    ]);
    expect(validation.warnings.map((w) => w.message)).toEqual([
      "PARAMETER f16_kv is deprecated in Ollama and has no effect",
    ]);
  });
});

describe("quoting SYSTEM and MESSAGE texts", () => {
  it.each([
    ["plain multi-line text", "line one\nline two"],
    ["double quotes inside", 'Say "hello" and ""twice""'],
    ["triple quotes mid-line", 'a """docstring""" inline'],
    ["leading and trailing blank lines and spaces", "\n\n  indented\n\ttabbed\n\n  "],
    ["a text ending in quotes", 'ends with a quote"'],
    ["a text ending in triple quotes", 'def f():\n    """doc"""'],
    ["emoji and accents", "café ✓ 🚀"],
    ["an empty text", ""],
  ])("%s comes back unchanged", (_what, text) => {
    const quoted = quoteText(text);
    expect(quoted.changes).toEqual([]);
    expect(systemOf(`FROM x\nSYSTEM ${quoted.value}\nPARAMETER seed 1\n`)).toBe(text);
  });

  it("a line ending in \"\"\" would end the value early: written as ''' instead", () => {
    const text = 'def f():\n    """\n    Docstring.\n    """\n    return 1';
    expect(systemOf(`FROM x\nSYSTEM """${text}"""\n`)).not.toBe(text); // what a naive writer gets
    const quoted = quoteText(text);
    expect(quoted.text).toBe("def f():\n    '''\n    Docstring.\n    '''\n    return 1");
    expect(quoted.changes).toHaveLength(1);
    const parsed = parseModelfile(`FROM x\nSYSTEM ${quoted.value}\nPARAMETER seed 1\n`);
    expect(parsed.error).toBeUndefined();
    expect(parsed.commands.map((c) => c.name)).toEqual(["model", "system", "seed"]);
    expect(parsed.commands[1].args).toBe(quoted.text);
  });

  it("normalises line breaks and drops what Ollama would drop", () => {
    const quoted = quoteText("a\r\nb\u00a0c\u0007d\u200be");
    expect(quoted.text).toBe("a\nb cde");
    expect(systemOf(`FROM x\nSYSTEM ${quoted.value}\n`)).toBe(quoted.text);
    expect(quoted.changes).toHaveLength(2);
  });
});
