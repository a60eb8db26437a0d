import type { ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import { describeEvent, type RunEvent, type RunEventListener } from "../agent/events.js";

/** What a tool handler gets to report progress: the request's token (absent: the client asked for none) and a sender. */
export interface ProgressChannel {
  token: string | number | undefined;
  send(notification: ServerNotification): Promise<void>;
}

/**
 * Run events as MCP progress notifications: `progress` counts the events sent (it only grows, as the
 * protocol asks), `message` is the event in a line, and every event but the answer's text is sent.
 * A failed send (the client went away) is dropped: the run's own result decides.
 */
export function progressListener(channel: ProgressChannel): RunEventListener {
  let sent = 0;
  const { token } = channel;
  return (event: RunEvent) => {
    if (token === undefined || event.type === "answer_text" || event.type === "result") return;
    sent++;
    channel
      .send({
        method: "notifications/progress",
        params: { progressToken: token, progress: sent, message: describeEvent(event) },
      })
      .catch(() => undefined);
  };
}
