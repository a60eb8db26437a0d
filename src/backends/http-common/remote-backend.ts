import type { Backend, BackendInfo, ChatMessage, GenerateRequest, GenerateResult } from "../types.js";
import { estimatePromptTokens } from "../http-common/estimate-tokens.js";

/**
 * What every model-server backend shares: one connection check per backend (retried after a failure),
 * and a conservative prompt estimate, since a server does not lend its tokenizer.
 */
export abstract class RemoteBackend implements Backend {
  private prepared: Promise<BackendInfo> | undefined;

  /** @param connectRetries extra attempts when the connection is refused; an endpoint pool passes 0 and fails over instead. */
  protected constructor(protected readonly connectRetries: number) {}

  /** Checks that the server answers and has the model; idempotent. */
  prepare(): Promise<BackendInfo> {
    this.prepared ??= this.connect().catch((error: unknown) => {
      this.prepared = undefined;
      throw error;
    });
    return this.prepared;
  }

  countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
    return Promise.resolve({ tokens: estimatePromptTokens(messages), exact: false });
  }

  /** Nothing is held between requests; the next call checks the server again. */
  dispose(): Promise<void> {
    this.prepared = undefined;
    return Promise.resolve();
  }

  abstract generate(request: GenerateRequest): Promise<GenerateResult>;

  /** Reaches the server and describes the model it serves. */
  protected abstract connect(): Promise<BackendInfo>;
}
