import type ts from "typescript";

/** What the repository map knows about one module: its exported symbols and what it imports. */
export interface ModuleOutline {
  /** One line per export: `export function f(a: A): B`, `export class C extends D` (members on indented lines), … */
  symbols: string[];
  /** Module specifiers as written (`./db.js`, `zod`): static and dynamic imports, re-exports, require(). */
  specifiers: string[];
}

/** File extensions the repository map reads. */
export const CODE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"] as const;

/** True for TypeScript and JavaScript files. */
export function isCodeFile(relative: string): boolean {
  return CODE_EXTENSIONS.some((extension) => relative.endsWith(extension));
}

const MAX_SIGNATURE = 160;
const MAX_MEMBERS = 20;

/** Loads the TypeScript compiler only when a file needs parsing: warm runs (every outline cached) never pay for it. */
export async function loadTypeScript(): Promise<typeof ts> {
  const module = (await import("typescript")) as unknown as { default: typeof ts };
  return module.default;
}

/**
 * Outlines a module with the TypeScript parser (one file, no program, no type checking): exported
 * declarations with their signatures as written, and the modules it imports.
 */
export function outlineModule(tsApi: typeof ts, fileName: string, text: string): ModuleOutline {
  const source = tsApi.createSourceFile(fileName, text, tsApi.ScriptTarget.Latest, false, scriptKind(tsApi, fileName));
  const symbols: string[] = [];
  const specifiers: string[] = [];
  const printer = printerFor(source);
  const { textOf } = printer;

  for (const statement of source.statements) {
    if (tsApi.isImportDeclaration(statement) && tsApi.isStringLiteral(statement.moduleSpecifier)) {
      specifiers.push(statement.moduleSpecifier.text);
      continue;
    }
    if (
      tsApi.isImportEqualsDeclaration(statement) &&
      tsApi.isExternalModuleReference(statement.moduleReference) &&
      tsApi.isStringLiteral(statement.moduleReference.expression)
    ) {
      specifiers.push(statement.moduleReference.expression.text);
      continue;
    }
    if (tsApi.isExportDeclaration(statement)) {
      if (statement.moduleSpecifier && tsApi.isStringLiteral(statement.moduleSpecifier))
        specifiers.push(statement.moduleSpecifier.text);
      symbols.push(truncate(textOf(statement).replace(/;$/, "")));
      continue;
    }
    if (tsApi.isExportAssignment(statement)) {
      symbols.push(
        truncate(`export ${statement.isExportEquals ? "=" : "default"} ${textOf(statement.expression)}`, 80),
      );
      continue;
    }
    const modifiers = tsApi.canHaveModifiers(statement) ? tsApi.getModifiers(statement) : undefined;
    if (!modifiers?.some((m) => m.kind === tsApi.SyntaxKind.ExportKeyword)) continue;
    outlineExported(tsApi, printer, statement, modifiers, symbols);
  }
  if (/\.(c|m)?jsx?$/.test(fileName)) addCommonJs(tsApi, text, source, symbols, specifiers);
  return { symbols, specifiers: [...new Set(specifiers)] };
}

/** Pushes the outline of one exported declaration (functions, classes, interfaces, types, enums, variables, namespaces). */
function outlineExported(
  tsApi: typeof ts,
  printer: Printer,
  statement: ts.Statement,
  modifiers: readonly ts.Modifier[],
  symbols: string[],
): void {
  const { textOf, params, typeParams, heritage } = printer;
  const isDefault = modifiers.some((m) => m.kind === tsApi.SyntaxKind.DefaultKeyword);
  const prefix = `export ${isDefault ? "default " : ""}${modifiers.some((m) => m.kind === tsApi.SyntaxKind.DeclareKeyword) ? "declare " : ""}`;
  if (tsApi.isFunctionDeclaration(statement)) {
    const isAsync = modifiers.some((m) => m.kind === tsApi.SyntaxKind.AsyncKeyword);
    symbols.push(
      truncate(
        `${prefix}${isAsync ? "async " : ""}function ${statement.name?.text ?? ""}${typeParams(statement)}${params(statement)}`,
      ),
    );
  } else if (tsApi.isClassDeclaration(statement)) {
    const members = classMembers(tsApi, printer, statement);
    const shown = members.slice(0, MAX_MEMBERS).map((m) => `    ${truncate(m)}`);
    if (members.length > MAX_MEMBERS) shown.push(`    … ${members.length - MAX_MEMBERS} more members`);
    symbols.push(
      [
        truncate(`${prefix}class ${statement.name?.text ?? ""}${typeParams(statement)}${heritage(statement)}`),
        ...shown,
      ].join("\n"),
    );
  } else if (tsApi.isInterfaceDeclaration(statement)) {
    const body = statement.members.map((m) => textOf(m).replace(/[;,]$/, "")).join("; ");
    symbols.push(
      truncate(`${prefix}interface ${statement.name.text}${typeParams(statement)}${heritage(statement)} { ${body} }`),
    );
  } else if (tsApi.isTypeAliasDeclaration(statement)) {
    symbols.push(truncate(`${prefix}type ${statement.name.text}${typeParams(statement)} = ${textOf(statement.type)}`));
  } else if (tsApi.isEnumDeclaration(statement)) {
    symbols.push(
      truncate(`${prefix}enum ${statement.name.text} { ${statement.members.map((m) => textOf(m.name)).join(", ")} }`),
    );
  } else if (tsApi.isVariableStatement(statement)) {
    const keyword =
      statement.declarationList.flags & tsApi.NodeFlags.Const
        ? "const"
        : statement.declarationList.flags & tsApi.NodeFlags.Let
          ? "let"
          : "var";
    for (const declaration of statement.declarationList.declarations) {
      const name = textOf(declaration.name);
      const init = declaration.initializer;
      if (declaration.type) symbols.push(truncate(`${prefix}${keyword} ${name}: ${textOf(declaration.type)}`));
      else if (init && (tsApi.isArrowFunction(init) || tsApi.isFunctionExpression(init)))
        symbols.push(truncate(`${prefix}${keyword} ${name} = ${typeParams(init)}${params(init)} => …`));
      else symbols.push(truncate(`${prefix}${keyword} ${name}`));
    }
  } else if (tsApi.isModuleDeclaration(statement)) {
    symbols.push(truncate(`${prefix}namespace ${textOf(statement.name)}`));
  }
}

/** Prints declarations of one source file as written, whitespace compacted. */
interface Printer {
  textOf(node: ts.Node): string;
  /** `(a: A, b: B): R`: the parameter list and return type. */
  params(node: ts.SignatureDeclarationBase): string;
  /** `<T, U>`, or "" without type parameters. */
  typeParams(node: { typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }): string;
  /** ` extends A implements B`, or "" without heritage clauses. */
  heritage(node: ts.ClassLikeDeclaration | ts.InterfaceDeclaration): string;
}

function printerFor(source: ts.SourceFile): Printer {
  const textOf = (node: ts.Node): string => compact(node.getText(source));
  const params = (node: ts.SignatureDeclarationBase): string =>
    `(${node.parameters.map((p) => textOf(p)).join(", ")})${node.type ? `: ${textOf(node.type)}` : ""}`;
  const typeParams = (node: { typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }): string =>
    node.typeParameters ? `<${node.typeParameters.map((p) => textOf(p)).join(", ")}>` : "";
  const heritage = (node: ts.ClassLikeDeclaration | ts.InterfaceDeclaration): string =>
    node.heritageClauses ? ` ${node.heritageClauses.map((h) => textOf(h)).join(" ")}` : "";
  return { textOf, params, typeParams, heritage };
}

/** The public members of a class, one line each: constructor, methods, properties, getters. */
function classMembers(tsApi: typeof ts, printer: Printer, statement: ts.ClassDeclaration): string[] {
  const { textOf, params, typeParams } = printer;
  const members: string[] = [];
  for (const member of statement.members) {
    const memberModifiers = tsApi.canHaveModifiers(member) ? tsApi.getModifiers(member) : undefined;
    if (
      memberModifiers?.some(
        (m) => m.kind === tsApi.SyntaxKind.PrivateKeyword || m.kind === tsApi.SyntaxKind.ProtectedKeyword,
      )
    )
      continue;
    if (member.name && tsApi.isPrivateIdentifier(member.name)) continue;
    const isStatic = memberModifiers?.some((m) => m.kind === tsApi.SyntaxKind.StaticKeyword) ? "static " : "";
    if (tsApi.isConstructorDeclaration(member)) members.push(`constructor${params(member)}`);
    else if (tsApi.isMethodDeclaration(member) && member.name)
      members.push(`${isStatic}${textOf(member.name)}${typeParams(member)}${params(member)}`);
    else if (tsApi.isPropertyDeclaration(member) && member.name)
      members.push(`${isStatic}${textOf(member.name)}${member.type ? `: ${textOf(member.type)}` : ""}`);
    else if (tsApi.isGetAccessorDeclaration(member) && member.name)
      members.push(`get ${textOf(member.name)}()${member.type ? `: ${textOf(member.type)}` : ""}`);
  }
  return members;
}

/** CommonJS modules: `require()` calls, `module.exports = …` and `exports.name = …` at the top level. */
function addCommonJs(
  tsApi: typeof ts,
  text: string,
  source: ts.SourceFile,
  symbols: string[],
  specifiers: string[],
): void {
  for (const imported of tsApi.preProcessFile(text, true, true).importedFiles) specifiers.push(imported.fileName);
  for (const statement of source.statements) {
    if (!tsApi.isExpressionStatement(statement) || !tsApi.isBinaryExpression(statement.expression)) continue;
    const { left, operatorToken } = statement.expression;
    if (operatorToken.kind !== tsApi.SyntaxKind.EqualsToken || !tsApi.isPropertyAccessExpression(left)) continue;
    const target = compact(left.getText(source));
    if (target === "module.exports" || /^(module\.)?exports\.[\w$]+$/.test(target))
      symbols.push(truncate(`${target} = ${compact(statement.expression.right.getText(source))}`, 100));
  }
}

function scriptKind(tsApi: typeof ts, fileName: string): ts.ScriptKind {
  if (fileName.endsWith(".tsx")) return tsApi.ScriptKind.TSX;
  if (fileName.endsWith(".jsx")) return tsApi.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(fileName)) return tsApi.ScriptKind.JS;
  return tsApi.ScriptKind.TS;
}

function compact(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function truncate(text: string, max = MAX_SIGNATURE): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
