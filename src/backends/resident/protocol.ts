import type { Socket } from "node:net";
import type { BackendInfo, ChatMessage, GenerateRequest, GenerateResult } from "../types.js";

/**
 * The resident engine's wire protocol: one JSON object per line over a Unix socket, requests tagged
 * with an id so that one connection carries several runs at once. A generate request carries the
 * whole {@link GenerateRequest} as plain data (everything but the signal and the callback), so fields
 * added to it later reach the engine without touching this file; the callback becomes `chunk` lines.
 */

/** A {@link GenerateRequest} without what cannot cross a process boundary. */
export type WireGenerateRequest = Omit<GenerateRequest, "signal" | "onTextChunk">;

/** What a client sends. */
export type ClientMessage =
  | { type: "hello"; id: number }
  | { type: "count"; id: number; messages: ChatMessage[] }
  | { type: "generate"; id: number; request: WireGenerateRequest; stream: boolean }
  | { type: "cancel"; id: number }
  | { type: "status"; id: number }
  | { type: "stop"; id: number };

/** A resident engine's live state, for `builder ps`. */
export interface EngineStatus {
  id: string;
  pid: number;
  model: string;
  /** Resident set size of the engine process, bytes. */
  rss_bytes: number;
  /** Bytes of the model file loaded. */
  model_bytes: number;
  busy: number;
  sequences: number;
  /** When it exits unless another request comes; null while busy or when kept until stopped. */
  expires_at: string | null;
  keep_alive_ms: number | null;
  started_at: string;
}

/** What the engine sends. */
export type EngineMessage =
  | { type: "hello"; id: number; info: BackendInfo; pid: number }
  | { type: "count"; id: number; tokens: number }
  | { type: "chunk"; id: number; text: string }
  | { type: "result"; id: number; result: GenerateResult }
  | { type: "status"; id: number; status: EngineStatus }
  | { type: "stopping"; id: number }
  | { type: "error"; id: number; error: { code: string; message: string; details: Record<string, unknown> } }
  /** Sent every second while a request is in flight, so that a client can tell a hung engine from a slow one. */
  | { type: "alive" };

/** Writes one message as a line. */
export function send(socket: Socket, message: ClientMessage | EngineMessage): void {
  if (!socket.destroyed) socket.write(JSON.stringify(message) + "\n");
}

/** Calls `onMessage` with every complete JSON line the socket receives; a line that is not JSON closes it. */
export function onLines<T>(socket: Socket, onMessage: (message: T) => void): void {
  let buffer = "";
  socket.setEncoding("utf8");
  socket.on("data", (data: string) => {
    buffer += data;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line) continue;
      let message: T;
      try {
        message = JSON.parse(line) as T;
      } catch {
        socket.destroy(new Error("malformed line on the engine socket"));
        return;
      }
      onMessage(message);
    }
  });
}
