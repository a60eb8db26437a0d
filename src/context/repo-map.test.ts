import { utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { gitRepo } from "../test-support/git-repo.js";
import { listWorkspaceFiles } from "../workspace/list-files.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { isCodeFile, loadTypeScript, outlineModule } from "./module-outline.js";
import { rankRepoMap, renderMapEntry, termsOf } from "./rank.js";
import { buildRepoMap, clearRepoMapMemory, resolveSpecifier } from "./repo-map.js";

const SERVICE = `import { z } from "zod";
import { query, type Db } from "./db.js";
import * as search from "./search/index.js";

/** A contact. */
export interface Contact {
  id: string;
  email: string;
}

export type ContactInput = Omit<Contact, "id">;

export enum Status { Active, Archived }

export const MAX_CONTACTS: number = 1000;
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export async function createContact(db: Db, input: ContactInput): Promise<Contact> {
  return query(db, input);
}

export default class ContactService<T extends Contact = Contact> extends Base implements Service {
  constructor(private readonly db: Db) {}
  async find(id: string): Promise<T | undefined> { return undefined; }
  private secret(): void {}
  #hidden = 1;
  static create(): ContactService { return new ContactService(null as never); }
  count: number = 0;
}

function notExported(): void {}
export { helper as publicHelper } from "./helpers.js";
export * from "./types.js";
`;

describe("outlineModule (TypeScript compiler API)", () => {
  it("lists exported declarations with their signatures and every import", async () => {
    const outline = outlineModule(await loadTypeScript(), "src/contact-service.ts", SERVICE);
    expect(outline.symbols).toEqual([
      "export interface Contact { id: string; email: string }",
      'export type ContactInput = Omit<Contact, "id">',
      "export enum Status { Active, Archived }",
      "export const MAX_CONTACTS: number",
      "export const normalizeEmail = (email: string): string => …",
      "export async function createContact(db: Db, input: ContactInput): Promise<Contact>",
      [
        "export default class ContactService<T extends Contact = Contact> extends Base implements Service",
        "    constructor(private readonly db: Db)",
        "    find(id: string): Promise<T | undefined>",
        "    static create(): ContactService",
        "    count: number",
      ].join("\n"),
      'export { helper as publicHelper } from "./helpers.js"',
      'export * from "./types.js"',
    ]);
    expect(outline.specifiers).toEqual(["zod", "./db.js", "./search/index.js", "./helpers.js", "./types.js"]);
  });

  it("reads CommonJS modules", async () => {
    const outline = outlineModule(
      await loadTypeScript(),
      "lib/legacy.cjs",
      `const db = require("./db");\nmodule.exports = { save };\nexports.load = function load(id) {};\n`,
    );
    expect(outline.specifiers).toEqual(["./db"]);
    expect(outline.symbols).toEqual(["module.exports = { save }", "exports.load = function load(id) {}"]);
  });
});

describe("resolveSpecifier", () => {
  const files = new Set(["src/db.ts", "src/search/index.ts", "src/view.tsx", "lib/a.js", "src/m.mts"]);
  it("resolves relative specifiers as TypeScript does (.js → .ts, folders → index)", () => {
    expect(resolveSpecifier("src/a.ts", "./db.js", files)).toBe("src/db.ts");
    expect(resolveSpecifier("src/a.ts", "./db", files)).toBe("src/db.ts");
    expect(resolveSpecifier("src/a.ts", "./search", files)).toBe("src/search/index.ts");
    expect(resolveSpecifier("src/a.ts", "./view.js", files)).toBe("src/view.tsx");
    expect(resolveSpecifier("src/a.ts", "./m.mjs", files)).toBe("src/m.mts");
    expect(resolveSpecifier("src/deep/a.ts", "../../lib/a.js", files)).toBe("lib/a.js");
    expect(resolveSpecifier("src/a.ts", "zod", files)).toBeUndefined();
    expect(resolveSpecifier("src/a.ts", "../../outside.js", files)).toBeUndefined();
  });
});

describe("the repository map of a real workspace", () => {
  let root: string;
  let sandbox: WorkspaceSandbox;

  beforeAll(async () => {
    root = gitRepo({
      ".gitignore": "generated/\n",
      "src/contact-service.ts": SERVICE,
      "src/db.ts":
        "export interface Db { url: string }\nexport function query(db: Db, q: unknown): Promise<never> { throw new Error(); }\n",
      "src/search/index.ts": 'import { query } from "../db.js";\nexport function indexContact(id: string): void {}\n',
      "src/api.ts": 'import { createContact } from "./contact-service.js";\nexport function route(): void {}\n',
      "src/contacts-report.ts": "export function contactsReport(): string { return ''; }\n",
      "src/billing.ts": "export function invoice(): void {}\n",
      "src/zeta.ts": "export const zeta = 1;\n",
      "generated/huge.ts": "export const ignored = 1;\n",
      ".env.ts": "export const secret = 'x';\n",
    });
    sandbox = await WorkspaceSandbox.open({ root });
  });

  async function build(): Promise<Awaited<ReturnType<typeof buildRepoMap>>> {
    const listing = await listWorkspaceFiles(sandbox, { statIf: isCodeFile });
    return buildRepoMap(
      sandbox.realRoot,
      listing.files.filter((f) => isCodeFile(f.path)),
    );
  }

  it("maps only files the model may see, with their import graph", async () => {
    clearRepoMapMemory();
    const map = await build();
    expect([...map.entries.keys()]).toEqual([
      "src/api.ts",
      "src/billing.ts",
      "src/contact-service.ts",
      "src/contacts-report.ts",
      "src/db.ts",
      "src/search/index.ts",
      "src/zeta.ts",
    ]);
    expect(map.entries.get("src/contact-service.ts")?.imports).toEqual(["src/db.ts", "src/search/index.ts"]);
    expect(map.importedBy.get("src/contact-service.ts")).toEqual(["src/api.ts"]);
    expect(renderMapEntry(map.entries.get("src/db.ts")!)).toBe(
      "src/db.ts\n  export interface Db { url: string }\n  export function query(db: Db, q: unknown): Promise<never>",
    );
  });

  it("ranks files imported by or importing the task's files first, then by shared terms", async () => {
    const map = await build();
    const ranked = rankRepoMap(map, ["src/contact-service.ts"], "Add a contacts report export");
    // Neighbours first (search/index.ts also shares "contact" through indexContact), then by shared terms.
    expect(ranked.map((r) => r.entry.path)).toEqual([
      "src/search/index.ts",
      "src/api.ts",
      "src/db.ts",
      "src/contacts-report.ts",
      "src/billing.ts",
      "src/zeta.ts",
    ]);
    expect(ranked.slice(0, 4).map((r) => r.reason)).toEqual([
      "imported by src/contact-service.ts",
      "imports src/contact-service.ts",
      "imported by src/contact-service.ts",
      "mentions contact, report",
    ]);
    expect([...termsOf("createContact in contact_service.ts")]).toEqual(["contact", "service"]);
  });

  it("parses each file once: warm builds come from the cache (memory, then disk), changed files are parsed again", async () => {
    clearRepoMapMemory();
    await build();
    const warm = await build();
    expect(warm.stats).toMatchObject({ parsed: 0, cached: 7 });
    clearRepoMapMemory();
    const fromDisk = await build();
    expect(fromDisk.stats, "a new process reads .builder/cache/repo-map.json").toMatchObject({ parsed: 0, cached: 7 });

    writeFileSync(path.join(root, "src", "zeta.ts"), "export const zeta = 2;\nexport function zed(): void {}\n");
    utimesSync(path.join(root, "src", "zeta.ts"), new Date(), new Date(Date.now() + 5000));
    const changed = await build();
    expect(changed.stats).toMatchObject({ parsed: 1, cached: 6 });
    expect(changed.entries.get("src/zeta.ts")?.symbols).toEqual(["export const zeta", "export function zed(): void"]);
  });
});
