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
  /** What identifies the finding across an edit, when the node's own text does not (a function's name). */
  key?: string;
}

const CODE_FILE = /\.[cm]?[jt]sx?$/;

/**
 * Applies the project's rules on the syntax tree (and the type checker where types matter): no
 * `any` (explicit, or implicit on parameters and properties), explicit return types on functions and
 * methods (of classes and of object literals without a declared type), the loc_max limit, and no
 * console.log. In an edited file only findings the original content did not have are reported.
 */
export function runRules(input: RuleInput): CheckResult {
  const started = performance.now();
  const findings: Finding[] = [];
  const notes: string[] = [];
  const code = input.files.filter((file) => CODE_FILE.test(file.path));
  let program = input.project?.program();
  const current = new Map(code.map((file) => [file.path, syntaxFindings(input, program, file, file.content, notes)]));
  // A file that already broke a rule before the edit fails only on what the edit added: the baseline is
  // the original content's findings, read with the project switched to the original content (as the
  // typecheck does for importers), then switched back.
  const needBaseline = code.filter((file) => file.original !== null && (current.get(file.path)?.length ?? 0) > 0);
  if (needBaseline.length > 0) {
    input.project?.setFiles(new Map(input.files.map((f) => [f.absolutePath, f.original])));
    program = input.project?.program();
    const baselines = new Map(
      needBaseline.map((file) => [file.path, syntaxFindings(input, program, file, file.original ?? "", [])]),
    );
    input.project?.setFiles(new Map(input.files.map((f) => [f.absolutePath, f.content])));
    for (const file of needBaseline)
      current.set(file.path, newFindings(current.get(file.path) ?? [], baselines.get(file.path) ?? []));
  }
  for (const list of current.values()) findings.push(...list);
  let touched = 0;
  if (input.enabled.has("loc-max")) {
    for (const file of input.files) {
      if (file.isTest) continue;
      const diff = countChangedLines(file.original ?? "", file.content);
      touched += diff.changed;
      if (!diff.exact)
        notes.push(`loc-max: ${file.path} is too large for an exact diff; ${diff.changed} is an upper bound.`);
    }
    if (touched > input.locMax) {
      findings.push({
        rule: "loc-max",
        file: input.files
          .filter((f) => !f.isTest)
          .map((f) => f.path)
          .join(", "),
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

/** The syntax-tree findings of one file's content (typed where the project covers the file). */
function syntaxFindings(
  input: RuleInput,
  program: ts.Program | undefined,
  file: RuleFile,
  content: string,
  notes: string[],
): Finding[] {
  const covered = program !== undefined && input.project?.covers(file.absolutePath) === true;
  const fromProgram = covered ? program.getSourceFile(file.absolutePath) : undefined;
  // The program holds whatever content the project was last switched to; parse the text itself when it differs.
  const source =
    fromProgram?.text === content
      ? fromProgram
      : ts.createSourceFile(file.absolutePath, content, ts.ScriptTarget.Latest, true);
  const typed = source === fromProgram ? program?.getTypeChecker() : undefined;
  if (input.enabled.has("no-any") && !typed && /\.tsx?$/.test(file.path))
    notes.push(`no-any: ${file.path} is outside the tsconfig, so only explicit \`any\` was checked there.`);
  const findings: Finding[] = [];
  visit(source, (node) => {
    if (input.enabled.has("no-any")) findings.push(...noAny(node, file.path, source, typed));
    if (input.enabled.has("explicit-return-types"))
      findings.push(...explicitReturnTypes(node, file.path, source, typed));
    if (input.enabled.has("no-console-log")) findings.push(...noConsoleLog(node, file.path, source));
  });
  return findings;
}

/**
 * The findings that are not in the baseline, keyed on the rule and the whitespace-normalized text of
 * the code around the finding (not its position, which an edit above it moves), counting each key as
 * often as it occurs: a second `any` where the original had one is new.
 */
function newFindings(now: readonly Finding[], before: readonly Finding[]): Finding[] {
  const remaining = new Map<string, number>();
  for (const finding of before) remaining.set(findingKey(finding), (remaining.get(findingKey(finding)) ?? 0) + 1);
  return now.filter((finding) => {
    const key = findingKey(finding);
    const left = remaining.get(key) ?? 0;
    if (left === 0) return true;
    remaining.set(key, left - 1);
    return false;
  });
}

function findingKey(finding: Finding): string {
  if (finding.key !== undefined) return `${finding.rule}\0${finding.key}`;
  if (!finding.node || !finding.source) return `${finding.rule}\0${finding.message}`;
  // A bare `any` says nothing about where it is: key it on what it annotates (`a: any`, `Array<any>`).
  const anchor = finding.node.kind === ts.SyntaxKind.AnyKeyword ? finding.node.parent : finding.node;
  return `${finding.rule}\0${anchor.getText(finding.source).replace(/\s+/g, " ")}`;
}

function visit(node: ts.Node, callback: (node: ts.Node) => void): void {
  callback(node);
  ts.forEachChild(node, (child) => visit(child, callback));
}

function noAny(node: ts.Node, file: string, source: ts.SourceFile, checker: ts.TypeChecker | undefined): Finding[] {
  if (node.kind === ts.SyntaxKind.AnyKeyword) {
    return [
      {
        rule: "no-any",
        file,
        node,
        source,
        message: "explicit `any`: use a precise type, or `unknown` and narrow it.",
      },
    ];
  }
  if (!checker) return [];
  const implicit =
    (ts.isParameter(node) && !node.type && !isThisParameter(node)) ||
    (ts.isPropertyDeclaration(node) && !node.type && !node.initializer);
  if (!implicit || !isPlainAny(checker.getTypeAtLocation(node))) return [];
  const what = ts.isParameter(node) ? "parameter" : "property";
  return [
    {
      rule: "no-any",
      file,
      node,
      source,
      message: `${what} \`${node.name.getText(source)}\` is implicitly \`any\`: give it a type.`,
    },
  ];
}

function explicitReturnTypes(
  node: ts.Node,
  file: string,
  source: ts.SourceFile,
  checker: ts.TypeChecker | undefined,
): Finding[] {
  let fn: ts.SignatureDeclaration | undefined;
  let name = "";
  if (ts.isFunctionDeclaration(node) && !node.type) {
    fn = node;
    name = `function \`${node.name?.text ?? "default"}\``;
  } else if (
    (ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node)) &&
    !node.type &&
    ts.isClassLike(node.parent)
  ) {
    fn = node;
    name = `method \`${node.name.getText(source)}\``;
  } else if (
    (ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node)) &&
    !node.type &&
    ts.isObjectLiteralExpression(node.parent) &&
    !isTypedObjectLiteral(node.parent, checker)
  ) {
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
  return [
    {
      rule: "explicit-return-types",
      file,
      node: fn.name ?? fn,
      source,
      message: `${name} has no return type: declare it${inferred ? ` (inferred: ${inferred})` : ""}.`,
      key: name,
    },
  ];
}

function noConsoleLog(node: ts.Node, file: string, source: ts.SourceFile): Finding[] {
  if (!ts.isCallExpression(node)) return [];
  const callee = node.expression;
  const isLog =
    (ts.isPropertyAccessExpression(callee) &&
      callee.name.text === "log" &&
      ts.isIdentifier(callee.expression) &&
      callee.expression.text === "console") ||
    (ts.isElementAccessExpression(callee) &&
      ts.isIdentifier(callee.expression) &&
      callee.expression.text === "console" &&
      ts.isStringLiteralLike(callee.argumentExpression) &&
      callee.argumentExpression.text === "log");
  return isLog
    ? [
        {
          rule: "no-console-log",
          file,
          node,
          source,
          message: "console.log is not allowed in this project: use its logger.",
        },
      ]
    : [];
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
  return (
    (type.flags & ts.TypeFlags.Any) !== 0 && (type as ts.Type & { intrinsicName?: string }).intrinsicName !== "error"
  );
}

function isThisParameter(node: ts.ParameterDeclaration): boolean {
  return ts.isIdentifier(node.name) && node.name.text === "this";
}

/**
 * An object literal whose type is given from outside (`const x: T = {…}`, `{…} satisfies T`, an argument
 * to a typed parameter): its methods' return types are checked against that type already.
 */
function isTypedObjectLiteral(literal: ts.ObjectLiteralExpression, checker: ts.TypeChecker | undefined): boolean {
  const parent = literal.parent;
  if (ts.isVariableDeclaration(parent) && parent.type) return true;
  if (ts.isSatisfiesExpression(parent) || ts.isAsExpression(parent) || ts.isTypeAssertionExpression(parent))
    return true;
  return checker?.getContextualType(literal) !== undefined;
}

function hasExportModifier(node: ts.VariableStatement): boolean {
  return node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

function skipWrappers(expression: ts.Expression): ts.Expression {
  let current = expression;
  while (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isSatisfiesExpression(current))
    current = current.expression;
  return current;
}
