import { randomBytes } from "node:crypto";

/** A new run id (`20261202T010203-a1b2c3`): sortable by time, unique enough for one workspace; `prefix` marks its kind ("undo-"). */
export function newRunId(prefix = ""): string {
  return `${prefix}${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${randomBytes(3).toString("hex")}`;
}
