import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { resolveSandboxSettings } from "../config/verify-settings.js";
import { SandboxUnavailableError } from "../errors/errors.js";
import { tempDir } from "../test-support/fixtures.js";
import { runProcess } from "../verify/process.js";
import { detectMechanism, MECHANISM_ENV } from "./detect.js";
import { explainSandboxFailure } from "./explain.js";
import { Sandbox, UNSANDBOXED_NOTE } from "./sandbox.js";
import { findSecrets } from "./secrets.js";

const SECRET = "sandbox-test-secret-7f3a";

/** A fixture: a home with a key, a workspace with a .env, a scratch folder, and a TCP listener counting bytes. */
interface Fixture {
  home: string;
  workspace: string;
  scratch: string;
  outside: string;
  port: number;
  received: () => number;
}

let fixture: Fixture;
let server: Server;
let bytes = 0;
let connections = 0;

beforeAll(async () => {
  const home = tempDir("builder-sbx-home-");
  mkdirSync(path.join(home, ".ssh"));
  writeFileSync(path.join(home, ".ssh", "id_ed25519"), SECRET);
  const workspace = tempDir("builder-sbx-ws-");
  writeFileSync(path.join(workspace, ".env"), `TOKEN=${SECRET}`);
  server = createServer((socket) => {
    connections += 1;
    socket.on("data", (chunk) => (bytes += chunk.length));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  fixture = {
    home,
    workspace,
    scratch: tempDir("builder-sbx-scratch-"),
    outside: tempDir("builder-sbx-outside-"),
    port: typeof address === "object" && address ? address.port : 0,
    received: () => bytes + connections,
  };
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const savedEnv = { mechanism: process.env[MECHANISM_ENV], home: process.env.HOME };
afterEach(() => {
  restore(MECHANISM_ENV, savedEnv.mechanism);
  restore("HOME", savedEnv.home);
});

function restore(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

function openSandbox(mechanism: string, config: Parameters<typeof resolveSandboxSettings>[0] = "auto"): Sandbox {
  process.env[MECHANISM_ENV] = mechanism;
  process.env.HOME = fixture.home;
  return Sandbox.open(resolveSandboxSettings(config, undefined), {
    writable: [fixture.scratch],
    tempDir: path.join(fixture.scratch, "tmp"),
    secretRoots: [fixture.workspace],
  });
}

/** Whether a mechanism works on this machine (bubblewrap needs the package; unshare needs namespaces). */
function available(mechanism: string): boolean {
  process.env[MECHANISM_ENV] = mechanism;
  const works = detectMechanism().name === mechanism;
  restore(MECHANISM_ENV, savedEnv.mechanism);
  return works;
}

/** One shell line per escape: each prints what happened, so one process checks them all. */
function escapes(): string {
  const { home, outside, workspace, port } = fixture;
  return [
    `(echo x > ${home}/pwned && echo home-written) 2>&1`,
    `(echo x > ${outside}/pwned && echo outside-written) 2>&1`,
    `(echo x > scratch-file && echo scratch-written) 2>&1`,
    `(echo x > "$TMPDIR/t" && echo tmp-written) 2>&1`,
    `cat ${home}/.ssh/id_ed25519 2>&1`,
    `cat ${workspace}/.env 2>&1`,
    `node -e "const s=require('net').connect(${port},'127.0.0.1',()=>{s.end('hi');console.log('connected')});s.on('error',e=>console.log(e.code))"`,
  ].join("; ");
}

const MECHANISMS = ["bubblewrap", "unshare"] as const;

describe.each(MECHANISMS)("the %s sandbox", (mechanism) => {
  const skip = !available(mechanism);

  it.skipIf(skip)("writes only the scratch copy and its temp, hides the secrets, and has no network", async () => {
    const sandbox = openSandbox(mechanism);
    expect(sandbox.name).toBe(mechanism);
    expect(sandbox.note).toBeUndefined();
    const result = await runProcess(escapes(), [], {
      cwd: fixture.scratch,
      timeoutMs: 60_000,
      shell: true,
      sandbox,
    });
    expect(result.output).toMatch(/scratch-written/);
    expect(result.output).toMatch(/tmp-written/);
    expect(result.output).not.toMatch(/home-written|outside-written|connected/);
    expect(result.output).toMatch(/Read-only file system/);
    expect(result.output).toMatch(/ECONNREFUSED/);
    expect(result.output).not.toContain(SECRET);
    expect(existsSync(path.join(fixture.home, "pwned"))).toBe(false);
    expect(existsSync(path.join(fixture.outside, "pwned"))).toBe(false);
    expect(readFileSync(path.join(fixture.scratch, "scratch-file"), "utf8")).toBe("x\n");
    expect(fixture.received()).toBe(0);
    expect(explainSandboxFailure(result.output, false).join("\n")).toMatch(/verify\.sandbox\.network/);
  });

  it.skipIf(skip)("caps the process count, and kills the whole tree on timeout, setsid escapees included", async () => {
    const sandbox = openSandbox(mechanism, { max_processes: 24 });
    const marker = `${4000 + MECHANISMS.indexOf(mechanism)}.5`;
    const sixty = Array.from({ length: 60 }, (_, i) => i).join(" ");
    // More forks than allowed: the shell dies of it ("Cannot fork") instead of filling the machine.
    const bomb = await runProcess(`for i in ${sixty}; do sleep ${marker} & done; echo all-forked`, [], {
      cwd: fixture.scratch,
      timeoutMs: 60_000,
      shell: true,
      sandbox,
    });
    expect(bomb.output).toMatch(/Cannot fork|Resource temporarily unavailable/i);
    expect(bomb.output).not.toMatch(/all-forked/);
    // A session leader (out of the process group) and a plain child, then waiting for ever: the timeout ends them all.
    const hang = `setsid sleep ${marker} & sleep ${marker} & exec sleep 600`;
    const result = await runProcess(hang, [], { cwd: fixture.scratch, timeoutMs: 2000, shell: true, sandbox });
    expect(result.timedOut, result.output).toBe(true);
    // Nothing of the tree survives: no `sleep <marker>` is left on the machine.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(execFileSync("ps", ["-eo", "args"]).toString()).not.toContain(`sleep ${marker}`);
  });
});

describe("without a sandbox", () => {
  it("runs unsandboxed with a note in auto mode, and refuses in required mode", () => {
    const sandbox = openSandbox("none");
    expect(sandbox.active).toBe(false);
    expect(sandbox.note).toMatch(new RegExp(`^${UNSANDBOXED_NOTE}: no sandbox available`));
    expect(() => openSandbox("none", "required")).toThrow(SandboxUnavailableError);
    expect(() => openSandbox("none", "required")).toThrow(/verify\.sandbox is "required"/);
  });

  it("notes an explicit off", () => {
    expect(openSandbox("bubblewrap", "off").note).toMatch(/tests ran unsandboxed: switched off/);
  });
});

describe("the secret scan", () => {
  it("finds the home's credential stores and the workspace's secret files and deny-listed paths, not node_modules", () => {
    const home = tempDir("builder-sbx-scan-home-");
    mkdirSync(path.join(home, ".aws"));
    writeFileSync(path.join(home, ".npmrc"), "//registry/:_authToken=x");
    const ws = tempDir("builder-sbx-scan-ws-");
    for (const dir of ["config", "secrets", "node_modules/pkg"]) mkdirSync(path.join(ws, dir), { recursive: true });
    for (const file of [
      "config/.env.local",
      "config/server.pem",
      "secrets/token.txt",
      "node_modules/pkg/.env",
      "ok.ts",
    ])
      writeFileSync(path.join(ws, file), "x");
    const found = findSecrets([ws], ["secrets/"], home);
    expect(found.dirs.sort()).toEqual([path.join(home, ".aws"), path.join(ws, "secrets")].sort());
    expect(found.files.sort()).toEqual(
      [path.join(home, ".npmrc"), path.join(ws, "config/.env.local"), path.join(ws, "config/server.pem")].sort(),
    );
  });
});

/** Builder's compiled modules, which the ordinary-user run below imports (`npm test` builds them first). */
const DIST = path.resolve(import.meta.dirname, "../../dist");

/** Whether this run can act as an ordinary user: root, setpriv present, and the build readable by uid 65534. */
function canRunAsNobody(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("setpriv", [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "test",
      "-r",
      `${DIST}/sandbox/sandbox.js`,
    ]);
    return true;
  } catch {
    return false;
  }
}

describe.each(MECHANISMS)("the %s sandbox for an ordinary user (user namespaces)", (mechanism) => {
  it.skipIf(!available(mechanism) || !canRunAsNobody())(
    "writes only its folder, hides the key, and caps processes by RLIMIT_NPROC",
    async () => {
      const dirs = [tempDir("builder-sbx-user-"), tempDir("builder-sbx-user-home-"), tempDir("builder-sbx-user-out-")];
      const [work = "", home = "", out = ""] = dirs;
      for (const dir of dirs) execFileSync("chmod", ["777", dir]);
      mkdirSync(path.join(home, ".ssh"), { mode: 0o755 });
      writeFileSync(path.join(home, ".ssh", "id_ed25519"), SECRET, { mode: 0o644 });
      const forks = Array.from({ length: 60 }, () => "sleep 1 &").join(" ");
      const command = `echo x > in && echo in-ok; echo x > ${out}/pwned; cat ${home}/.ssh/id_ed25519; ${forks} echo all-forked`;
      const script = [
        `const { Sandbox } = await import(${JSON.stringify(`${DIST}/sandbox/sandbox.js`)});`,
        `const { resolveSandboxSettings } = await import(${JSON.stringify(`${DIST}/config/verify-settings.js`)});`,
        `const { runProcess } = await import(${JSON.stringify(`${DIST}/verify/process.js`)});`,
        `const w = ${JSON.stringify(work)};`,
        `const sandbox = Sandbox.open(resolveSandboxSettings({ max_processes: 32 }, undefined), { writable: [w], tempDir: w + "/tmp", secretRoots: [w] });`,
        `const r = await runProcess(${JSON.stringify(command)}, [], { cwd: w, timeoutMs: 30000, shell: true, sandbox });`,
        `console.log(JSON.stringify({ name: sandbox.name, output: r.output }));`,
      ].join("\n");
      const stdout = execFileSync(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "--input-type=module", "-e", script],
        { env: { ...process.env, HOME: home, [MECHANISM_ENV]: mechanism }, encoding: "utf8" },
      );
      const { name, output } = JSON.parse(stdout) as { name: string; output: string };
      expect(name).toBe(mechanism);
      expect(output).toMatch(/in-ok/);
      expect(output).toMatch(/Read-only file system/);
      expect(output).toMatch(/Cannot fork/);
      expect(output).not.toMatch(/all-forked/);
      expect(output).not.toContain(SECRET);
      expect(existsSync(path.join(out, "pwned"))).toBe(false);
    },
  );
});
