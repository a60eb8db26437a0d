import { connect, type Socket } from "node:net";
import { BuilderError, type BuilderErrorCode } from "../../errors/errors.js";
import { onLines, send, type ClientMessage, type EngineMessage } from "./protocol.js";

/**
 * The resident engine cannot be used (not running, died, hung). Not a user-facing error: the backend
 * falls back to running the model in-process when it sees one.
 */
export class EngineUnavailable extends Error {}

type Pending = {
  resolve: (message: EngineMessage) => void;
  reject: (error: Error) => void;
  onChunk?: (text: string) => void;
};
type Request = ClientMessage extends infer M ? (M extends { id: number } ? Omit<M, "id"> : never) : never;

/**
 * One client connection to a resident engine, carrying several requests at once. While a request is
 * in flight the engine sends a line at least every second; `timeoutMs` without one means it hung.
 */
export class EngineConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private watchdog: NodeJS.Timeout | undefined;
  private closedWith: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    onLines<EngineMessage>(socket, (message) => this.receive(message));
    socket.on("close", () =>
      this.fail(this.closedWith ?? new EngineUnavailable("the resident engine closed the connection")),
    );
    socket.on(
      "error",
      (error) => (this.closedWith ??= new EngineUnavailable(`the resident engine's socket failed: ${error.message}`)),
    );
  }

  /** Connects to the socket; rejects with the socket error (ENOENT, ECONNREFUSED) when nothing listens. */
  static open(socketPath: string, timeoutMs: number): Promise<EngineConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      const timer = setTimeout(
        () => socket.destroy(new EngineUnavailable(`no answer on ${socketPath} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new EngineConnection(socket, timeoutMs));
      });
    });
  }

  /** Sends a request and waits for its answer (`chunk` lines go to `onChunk`); engine errors are rethrown as Builder errors. */
  async request(message: Request, onChunk?: (text: string) => void, signal?: AbortSignal): Promise<EngineMessage> {
    if (this.closedWith || this.socket.destroyed)
      throw this.closedWith ?? new EngineUnavailable("the resident engine connection is closed");
    const id = this.nextId++;
    const answer = new Promise<EngineMessage>((resolve, reject) => this.pending.set(id, { resolve, reject, onChunk }));
    const onAbort = (): void => send(this.socket, { type: "cancel", id });
    signal?.addEventListener("abort", onAbort, { once: true });
    send(this.socket, { ...message, id } as ClientMessage);
    this.arm();
    try {
      const reply = await answer;
      if (reply.type === "error")
        throw new BuilderError(reply.error.code as BuilderErrorCode, reply.error.message, reply.error.details);
      return reply;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Closes the connection (the engine keeps running). */
  close(): void {
    clearTimeout(this.watchdog);
    this.socket.end();
  }

  private receive(message: EngineMessage): void {
    this.arm();
    if (message.type === "alive") return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === "chunk") {
      pending.onChunk?.(message.text);
      return;
    }
    this.pending.delete(message.id);
    pending.resolve(message);
    if (this.pending.size === 0) clearTimeout(this.watchdog);
  }

  private arm(): void {
    clearTimeout(this.watchdog);
    if (this.pending.size === 0) return;
    this.watchdog = setTimeout(() => {
      this.closedWith = new EngineUnavailable(`the resident engine sent nothing for ${this.timeoutMs} ms (hung)`);
      this.socket.destroy();
    }, this.timeoutMs);
  }

  private fail(error: Error): void {
    clearTimeout(this.watchdog);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
