import { WorkspaceEscapeError } from "../errors/errors.js";

/** Which path rules a workspace root follows: Windows roots (`D:\proj`, `\\server\share`) compare case-insensitively. */
export type PathFlavor = "posix" | "win32";

/** The flavor a root path is written in. */
export function pathFlavorOf(root: string): PathFlavor {
  return /^[A-Za-z]:[\\/]/.test(root) || /^[\\/]{2}[^\\/]/.test(root) ? "win32" : "posix";
}

/**
 * Maps a path from a task or a suggestion to a workspace-relative POSIX path, without touching the
 * disk. Accepts workspace-relative and absolute paths in POSIX or Windows style (`\` always counts as
 * a separator). Throws {@link WorkspaceEscapeError} naming the path when it is empty, holds a NUL
 * byte, or lies outside `root` (`../` escapes, absolute paths elsewhere, another drive, a prefix
 * look-alike such as `/ws-evil` for `/ws`).
 *
 * Windows roots compare case-insensitively (`d:\PROJ\a.ts` is under `D:\proj`), as the file system
 * does; POSIX roots compare exactly. A POSIX root under `/mnt/<drive>/` (WSL) also accepts Windows
 * paths on that drive.
 */
export function toWorkspaceRelative(root: string, input: string): string {
  const flavor = pathFlavorOf(root);
  const refuse = (why: string): never => {
    throw new WorkspaceEscapeError(
      `Path ${JSON.stringify(input)} ${why}. Builder only reads and writes inside the workspace ${root}; use a path under it (relative paths are taken from the workspace root).`,
      {
        path: input,
        workspace: root,
      },
    );
  };
  if (input.includes("\0")) refuse("contains a NUL byte");
  if (input.trim() === "") refuse("is empty");
  const rootSegments = splitAbsolute(root, flavor);
  if (!rootSegments)
    throw new WorkspaceEscapeError(`The workspace root ${root} is not an absolute path.`, { workspace: root });

  const slashed = input.replace(/\\/g, "/").replace(/^\/\/[?.]\/(?=[A-Za-z]:\/)/, "");
  let segments: string[];
  if (/^[A-Za-z]:(?!\/)/.test(slashed)) {
    return refuse(
      "is relative to a drive's current folder (write it as D:\\folder\\file or relative to the workspace)",
    );
  } else if (/^[A-Za-z]:\//.test(slashed)) {
    segments =
      driveSegments(slashed, flavor, rootSegments) ??
      refuse(`is on drive ${slashed.slice(0, 2)}, which does not hold the workspace`);
  } else if (slashed.startsWith("//")) {
    if (flavor !== "win32") refuse("is a Windows network (UNC) path");
    segments = normalize(["//", ...slashed.slice(2).split("/")]);
  } else if (slashed.startsWith("/")) {
    if (flavor === "win32") refuse("is absolute but names no drive");
    segments = normalize(["/", ...slashed.split("/")]);
  } else {
    segments = normalize([...rootSegments, ...slashed.split("/")]);
  }

  if (
    segments.length <= rootSegments.length ||
    !rootSegments.every((part, i) => sameSegment(part, segments[i] ?? "", flavor))
  ) {
    if (
      segments.length === rootSegments.length &&
      rootSegments.every((part, i) => sameSegment(part, segments[i] ?? "", flavor))
    ) {
      refuse("is the workspace root itself, not a file in it");
    }
    refuse("lies outside the workspace");
  }
  const relative = segments.slice(rootSegments.length);
  if (flavor === "win32") {
    const odd = relative.find((part) => part.includes(":") || /[. ]$/.test(part));
    // NTFS ignores trailing dots and spaces (".git." is ".git") and reads "a:b" as a data stream.
    if (odd !== undefined) refuse(`has a segment ${JSON.stringify(odd)} that Windows would read as another name`);
  }
  return relative.join("/");
}

/** Absolute path → segments: "/" or "//" or "c:" first, then the names. Undefined for relative paths. */
function splitAbsolute(root: string, flavor: PathFlavor): string[] | undefined {
  const slashed = root.replace(/\\/g, "/");
  if (flavor === "win32") {
    if (/^[A-Za-z]:\//.test(slashed))
      return normalize([slashed.slice(0, 2).toLowerCase(), ...slashed.slice(3).split("/")]);
    if (slashed.startsWith("//")) return normalize(["//", ...slashed.slice(2).split("/")]);
    return undefined;
  }
  return slashed.startsWith("/") ? normalize(["/", ...slashed.split("/")]) : undefined;
}

/** A drive path's segments, or undefined when that drive cannot hold the workspace. */
function driveSegments(slashed: string, flavor: PathFlavor, rootSegments: readonly string[]): string[] | undefined {
  const drive = slashed.slice(0, 2).toLowerCase();
  const rest = slashed.slice(3).split("/");
  if (flavor === "win32") return rootSegments[0] === drive ? normalize([drive, ...rest]) : undefined;
  // WSL: D:\x is /mnt/d/x.
  if (rootSegments[1] === "mnt" && rootSegments[2] === drive[0])
    return normalize(["/", "mnt", drive[0] ?? "", ...rest]);
  return undefined;
}

/** Resolves "." and ".." lexically; ".." never climbs above the first (root) segment. */
function normalize(parts: readonly string[]): string[] {
  const [head, ...rest] = parts;
  const out: string[] = [head ?? "/"];
  for (const part of rest) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 1) out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

function sameSegment(a: string, b: string, flavor: PathFlavor): boolean {
  return flavor === "win32" ? a.toLowerCase() === b.toLowerCase() : a === b;
}
