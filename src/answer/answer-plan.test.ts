import { describe, expect, it } from "vitest";
import { BACKEND_NAMES } from "../config/schema.js";
import { describeBackend } from "../backends/descriptors.js";
import { resolveAnswerStyle } from "./answer-plan.js";

describe("the answer style follows what the backend declares, not its name", () => {
  it("writes text under a grammar, by default, where the engine applies the grammar itself", () => {
    const style = resolveAnswerStyle({ grammar: "engine" }, "auto", "auto");
    expect(style).toMatchObject({ format: "text", grammar: true, edits: "search-replace" });
    expect(style.note).toBe("answer format: text (text blocks under a GBNF grammar); edits: search-replace");
  });

  it("writes JSON under the schema, by default, where the backend takes no grammar; asked-for text is checked after", () => {
    expect(resolveAnswerStyle({ grammar: "none" }, "auto", "auto")).toMatchObject({ format: "json", grammar: false });
    const text = resolveAnswerStyle({ grammar: "none" }, "text", "whole");
    expect(text).toMatchObject({ format: "text", grammar: false, edits: "whole" });
    expect(text.note).toContain("checked after generation");
  });

  it("sends a grammar as the request's field only when text is asked for (servers other than llama.cpp's reject it)", () => {
    expect(resolveAnswerStyle({ grammar: "request-field" }, "auto", "auto")).toMatchObject({
      format: "json",
      grammar: false,
    });
    const text = resolveAnswerStyle({ grammar: "request-field" }, "text", "auto");
    expect(text).toMatchObject({ format: "text", grammar: true });
    expect(text.note).toContain("sent as the request's `grammar` field (llama.cpp's server)");
  });

  it("gives each configured backend kind the default its declared capabilities call for", () => {
    const auto = Object.fromEntries(
      BACKEND_NAMES.map((name) => [name, resolveAnswerStyle(describeBackend(name).capabilities, "auto", "auto")]),
    );
    expect(auto).toMatchObject({
      embedded: { format: "text", grammar: true },
      ollama: { format: "json", grammar: false },
      openai: { format: "json", grammar: false },
    });
  });
});
