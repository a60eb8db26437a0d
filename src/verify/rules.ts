import ts from "typescript";
import type { VerifyRuleId } from "../config/schema.js";
import { countChangedLines } from "./line-diff.js";
import type { TypeScriptProject } from "./ts-project.js";
import { formatDiagnostic, type CheckResult } from "./types.js";

/** One edited file as the rules see it. */
export interface RuleFile {
  /** Workspace-relative POSIX path. */
  path: string;
  /** Absolute path in the scratch copy. */
  absolutePath: string;
  content: string;
  /** Content before the edit; null for a new file. */
  original: string | null;
  isTest: boolean;
}

/** What the rules need: the files, which rules are on, and the task's limits. */
export interface RuleInput {
  files: readonly RuleFile[];
  enabled: ReadonlySet<VerifyRuleId>;
  /** `constraints.loc_max`: the most lines the change may touch (tests not counted). */
  locMax: number;
  /** The TypeScript project, for rules that need types (implicit any, inferred return types). */
  project?: TypeScriptProject;
}

interface Finding {
  rule: VerifyRuleId;
  file: string;
  node?: ts.Node;
  source?: ts.SourceFile;
  message: string;
}

const CODE_FILE = /\.[cm]?[jt]sx?$/;

/**
 * Applies the project's rules on the syntax tree (and the type checker where types matter): no
 * `any` (explicit, or implicit on parameters and properties), explicit return types on functions and
 * methods, the loc_max limit, and no console.log.
 */
export function runRules(input: RuleInput): CheckResult {
  const started = performance.now();
  const findings: Finding[] = [];
  const notes: string[] = [];
  const program = input.project?.program();
  const checker = program?.getTypeChecker();
  for (const file of input.files) {
    if (!CODE_FILE.test(file.path)) continue;
    const covered = program !== undefined && input.project?.covers(file.absolutePath) === true;
    const source = (covered ? program.getSourceFile(file.absolutePath) : undefined) ?? ts.createSourceFile(file.absolutePath, file.content, ts.ScriptTarget.Latest, true);
    const typed = covered ? checker : undefined;
    if (input.enabled.has("no-any") && !typed && /\.tsx?$/.test(file.path)) notes.push(`no-any: ${file.path} is outside the tsconfig, so only explicit \`any\` was checked there.`);
    visit(source, (node) => {
      if (input.enabled.has("no-any")) findings.push(...noAny(node, file.path, source, typed));
      if (input.enabled.has("explicit-return-types")) findings.push(...explicitReturnTypes(node, file.path, source, typed));
      if (input.enabled.has("no-console-log")) findings.push(...noConsoleLog(node, file.path, source));
    });
  }
  let touched = 0;
  if (input.enabled.has("loc-max")) {
    for (const file of input.files) {
      if (file.isTest) continue;
      const diff = countChangedLines(file.original ?? "", file.content);
      touched += diff.changed;
      if (!diff.exact) notes.push(`loc-max: ${file.path} is too large for an exact diff; ${diff.changed} is an upper bound.`);
    }
    if (touched > input.locMax) {
      findings.push({
        rule: "loc-max",
        file: input.files.filter((f) => !f.isTest).map((f) => f.path).join(", "),
        message: `the change touches ${touched} lines (tests not counted); constraints.loc_max allows ${input.locMax}. Make a smaller change.`,
      });
    }
  }
  const diagnostics = findings.map((f) => {
    if (!f.node || !f.source) return `${f.file} ${f.rule} ${f.message}`;
    const { line, character } = f.source.getLineAndCharacterOfPosition(f.node.getStart(f.source));
    return formatDiagnostic({ file: f.file, line: line + 1, column: character + 1, code: f.rule, message: f.message });
  });
  const rules = [...input.enabled].join(", ");
  return {
    name: "rules",
    status: diagnostics.length === 0 ? "passed" : "failed",
    durationMs: performance.now() - started,
    diagnostics,
    summary: `${diagnostics.length === 0 ? "no violations" : `${diagnostics.length} violation(s)`} of ${rules}${input.enabled.has("loc-max") ? `; ${touched}/${input.locMax} lines touched` : ""}`,
    notes,
  };
}

function visit(node: ts.Node, callback: (node: ts.Node) => void): void {
  callback(node);
  ts.forEachChild(node, (child) => visit(child, callback));
}

function noAny(node: ts.Node, file: string, source: ts.SourceFile, checker: ts.TypeChecker | undefined): Finding[] {
  if (node.kind === ts.SyntaxKind.AnyKeyword) {
    return [{ rule: "no-any", file, node, source, message: "explicit `any`: use a precise type, or `unknown` and narrow it." }];
  }
  if (!checker) return [];
  const implicit =
    (ts.isParameter(node) && !node.type && !isThisParameter(node)) || (ts.isPropertyDeclaration(node) && !node.type && !node.initializer);
  if (!implicit || !isPlainAny(checker.getTypeAtLocation(node))) return [];
  const what = ts.isParameter(node) ? "parameter" : "property";
  return [{ rule: "no-any", file, node, source, message: `${what} \`${node.name.getText(source)}\` is implicitly \`any\`: give it a type.` }];
}

function explicitReturnTypes(node: ts.Node, file: string, source: ts.SourceFile, checker: ts.TypeChecker | undefined): Finding[] {
  let fn: ts.SignatureDeclaration | undefined;
  let name = "";
  if (ts.isFunctionDeclaration(node) && !node.type) {
    fn = node;
    name = `function \`${node.name?.text ?? "default"}\``;
  } else if ((ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node)) && !node.type && ts.isClassLike(node.parent)) {
    fn = node;
    name = `method \`${node.name.getText(source)}\``;
  } else if (ts.isVariableStatement(node) && hasExportModifier(node)) {
    for (const declaration of node.declarationList.declarations) {
      const init = declaration.initializer && skipWrappers(declaration.initializer);
      if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) && !init.type && !declaration.type) {
        fn = init;
        name = `exported function \`${declaration.name.getText(source)}\``;
      }
    }
  } else if (ts.isExportAssignment(node)) {
    const init = skipWrappers(node.expression);
    if ((ts.isArrowFunction(init) || ts.isFunctionExpression(init)) && !init.type) {
      fn = init;
      name = "default-exported function";
    }
  }
  if (!fn) return [];
  const inferred = inferredReturnType(fn, checker);
  return [{ rule: "explicit-return-types", file, node: fn.name ?? fn, source, message: `${name} has no return type: declare it${inferred ? ` (inferred: ${inferred})` : ""}.` }];
}

function noConsoleLog(node: ts.Node, file: string, source: ts.SourceFile): Finding[] {
  if (!ts.isCallExpression(node)) return [];
  const callee = node.expression;
  const isLog =
    (ts.isPropertyAccessExpression(callee) && callee.name.text === "log" && ts.isIdentifier(callee.expression) && callee.expression.text === "console") ||
    (ts.isElementAccessExpression(callee) &&
      ts.isIdentifier(callee.expression) &&
      callee.expression.text === "console" &&
      ts.isStringLiteralLike(callee.argumentExpression) &&
      callee.argumentExpression.text === "log");
  return isLog ? [{ rule: "no-console-log", file, node, source, message: "console.log is not allowed in this project: use its logger." }] : [];
}

function inferredReturnType(fn: ts.SignatureDeclaration, checker: ts.TypeChecker | undefined): string | undefined {
  if (!checker) return undefined;
  const signature = checker.getSignatureFromDeclaration(fn);
  if (!signature) return undefined;
  const text = checker.typeToString(checker.getReturnTypeOfSignature(signature), fn, ts.TypeFormatFlags.NoTruncation);
  return text.length <= 120 ? text : undefined;
}

/** `any` itself, not the checker's error type (an unresolved name is already a type error). */
function isPlainAny(type: ts.Type): boolean {
  return (type.flags & ts.TypeFlags.Any) !== 0 && (type as ts.Type & { intrinsicName?: string }).intrinsicName !== "error";
}

function isThisParameter(node: ts.ParameterDeclaration): boolean {
  return ts.isIdentifier(node.name) && node.name.text === "this";
}

function hasExportModifier(node: ts.VariableStatement): boolean {
  return node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

function skipWrappers(expression: ts.Expression): ts.Expression {
  let current = expression;
  while (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isSatisfiesExpression(current)) current = current.expression;
  return current;
}
