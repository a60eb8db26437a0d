import { describe, expect, it } from "vitest";
import { WorkspaceEscapeError } from "../errors/errors.js";
import { pathFlavorOf, toWorkspaceRelative } from "./paths.js";

function refused(root: string, input: string): WorkspaceEscapeError {
  try {
    toWorkspaceRelative(root, input);
  } catch (error) {
    expect(error).toBeInstanceOf(WorkspaceEscapeError);
    return error as WorkspaceEscapeError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused under ${root}`);
}

describe("toWorkspaceRelative on a POSIX workspace", () => {
  const root = "/home/dev/proj";

  it("maps relative, ./, absolute and backslash paths inside the root", () => {
    expect(toWorkspaceRelative(root, "src/a.ts")).toBe("src/a.ts");
    expect(toWorkspaceRelative(root, "./src//b.ts")).toBe("src/b.ts");
    expect(toWorkspaceRelative(root, "/home/dev/proj/src/c.ts")).toBe("src/c.ts");
    expect(toWorkspaceRelative(root, "src\\core\\d.ts")).toBe("src/core/d.ts");
    expect(toWorkspaceRelative(root, "src/x/../e.ts")).toBe("src/e.ts");
  });

  it("refuses ../ escapes, however they are spelled, and names the path", () => {
    const error = refused(root, "../other/secret.ts");
    expect(error.message).toContain('"../other/secret.ts"');
    expect(error.message).toContain("outside the workspace");
    expect(error.code).toBe("WORKSPACE_ESCAPE");
    refused(root, "src/../../other.ts");
    refused(root, "..\\..\\etc\\passwd");
    refused(root, "src/../../proj-evil/x.ts");
  });

  it("refuses absolute paths elsewhere, including prefix look-alikes and the root itself", () => {
    refused(root, "/etc/passwd");
    refused(root, "/home/dev/proj-evil/a.ts");
    refused(root, "/home/dev/projx");
    expect(refused(root, "/home/dev/proj").message).toContain("workspace root itself");
    refused(root, ".");
  });

  it("refuses case tricks: a POSIX file system is case-sensitive, so /home/dev/PROJ is elsewhere", () => {
    refused(root, "/home/dev/PROJ/src/a.ts");
    refused(root, "/HOME/dev/proj/src/a.ts");
  });

  it("refuses NUL bytes, empty paths, Windows drives and UNC paths", () => {
    expect(refused(root, "src/a.ts\0.png").message).toContain("NUL byte");
    refused(root, "");
    refused(root, "   ");
    expect(refused(root, "D:\\proj\\a.ts").message).toContain("drive D:");
    refused(root, "C:/home/dev/proj/a.ts");
    refused(root, "\\\\server\\share\\a.ts");
    refused(root, "D:a.ts");
  });

  it("maps Windows paths on the drive of a WSL workspace (/mnt/d/…)", () => {
    expect(toWorkspaceRelative("/mnt/d/clientforge-crm", "D:\\clientforge-crm\\backend\\x.ts")).toBe("backend/x.ts");
    refused("/mnt/d/clientforge-crm", "C:\\clientforge-crm\\backend\\x.ts");
  });
});

describe("toWorkspaceRelative on a Windows workspace", () => {
  const root = "D:\\clientforge-crm";

  it("detects the flavor from the root", () => {
    expect(pathFlavorOf(root)).toBe("win32");
    expect(pathFlavorOf("\\\\server\\share\\proj")).toBe("win32");
    expect(pathFlavorOf("/srv/proj")).toBe("posix");
  });

  it("maps absolute paths under the root, comparing drive letters and names case-insensitively", () => {
    expect(toWorkspaceRelative(root, "D:\\clientforge-crm\\backend\\core\\crm\\contact-service.ts")).toBe(
      "backend/core/crm/contact-service.ts",
    );
    expect(toWorkspaceRelative(root, "d:\\CLIENTFORGE-CRM\\backend\\a.ts")).toBe("backend/a.ts");
    expect(toWorkspaceRelative(root, "D:/clientforge-crm/backend/a.ts")).toBe("backend/a.ts");
    expect(toWorkspaceRelative(root, "\\\\?\\D:\\clientforge-crm\\a.ts")).toBe("a.ts");
    expect(toWorkspaceRelative(root, "backend\\core\\a.ts")).toBe("backend/core/a.ts");
    expect(toWorkspaceRelative(root, "backend/core/a.ts")).toBe("backend/core/a.ts");
  });

  it("refuses other drives, look-alike folders, drive-relative and driveless absolute paths", () => {
    expect(refused(root, "C:\\clientforge-crm\\a.ts").message).toContain("drive C:");
    refused(root, "D:\\clientforge-crm-old\\a.ts");
    refused(root, "D:\\clientforge-crm\\..\\secrets\\a.ts");
    refused(root, "D:a.ts");
    refused(root, "\\clientforge-crm\\a.ts");
    refused(root, "\\\\server\\share\\a.ts");
    refused(root, "..\\a.ts");
  });

  it("refuses names Windows would read differently: trailing dots or spaces, data streams", () => {
    refused(root, "backend\\a.ts.");
    refused(root, "backend \\a.ts");
    refused(root, "backend\\a.ts:secret");
  });

  it("handles UNC workspaces", () => {
    expect(toWorkspaceRelative("\\\\server\\share\\proj", "\\\\SERVER\\share\\proj\\src\\a.ts")).toBe("src/a.ts");
    refused("\\\\server\\share\\proj", "\\\\server\\other\\proj\\a.ts");
  });
});
