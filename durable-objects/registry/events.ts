import type { IngestHealth, RecordingInfo } from "../../workers/shared/ingest-api";
import type { WebhookOutbox } from "./outbox";
import { saveRecording } from "./recordings";
import type { StreamRow } from "./records";
import { webhookEvent, type WebhookData, type WebhookEventType } from "./webhooks";

/** An ingest event as the Worker's events route validated it (workers/routes/ingest.ts). */
export type RegistryEvent = { streamId: string; sessionId: string } & (
  | { type: "live"; renditions?: string[]; health?: IngestHealth }
  | { type: "health"; health: IngestHealth }
  | { type: "idle" }
  | { type: "recording-ready"; recording: RecordingInfo }
);

export type EventOutcome = "recorded" | "stale-session" | "unknown-stream" | "revoked";

interface Applied {
  outcome: EventOutcome;
  /** a webhook delivery was queued: the outbox's alarm needs setting */
  announced: boolean;
}

/**
 * Applies one ingest event to its stream's row, synchronously, together with the webhook event that
 * announces it, so the two are committed as one.
 */
export function applyEvent(sql: SqlStorage, outbox: WebhookOutbox, row: StreamRow, event: RegistryEvent, now: number): Applied {
  const announce = <T extends WebhookEventType>(type: T, data: WebhookData[T]) => queueWebhook(outbox, row, type, data, now);
  switch (event.type) {
    case "live": {
      if (row.revoked) return { outcome: "revoked", announced: false };
      // The ingest node retries an event whose answer it lost: the same session going live twice is announced once.
      const newSession = row.status !== "live" || row.session_id !== event.sessionId;
      const renditions = event.renditions ?? [];
      // A new session always wins: an encoder that reconnects gets a fresh session before the old one says idle.
      sql.exec(
        "UPDATE streams SET status = 'live', session_id = ?, renditions = ?, health = ? WHERE id = ?",
        event.sessionId,
        JSON.stringify(renditions),
        event.health ? JSON.stringify(event.health) : null,
        row.id,
      );
      const announced = newSession && announce("stream.live", { streamId: row.id, sessionId: event.sessionId, renditions });
      return { outcome: "recorded", announced };
    }
    case "health": {
      if (row.revoked) return { outcome: "revoked", announced: false };
      if (row.status !== "live" || row.session_id !== event.sessionId) return { outcome: "stale-session", announced: false };
      sql.exec("UPDATE streams SET health = ? WHERE id = ?", JSON.stringify(event.health), row.id);
      return { outcome: "recorded", announced: false };
    }
    case "idle": {
      // A late "idle" from a session that has already been replaced must not take the new one off the air.
      if (row.session_id !== event.sessionId) return { outcome: "stale-session", announced: false };
      sql.exec("UPDATE streams SET status = 'idle', session_id = NULL, renditions = '[]', health = NULL WHERE id = ?", row.id);
      return { outcome: "recorded", announced: announce("stream.idle", { streamId: row.id, sessionId: event.sessionId }) };
    }
    case "recording-ready": {
      // Arrives after "idle", when the session is no longer current; a revoked stream's recordings are kept
      // until the admin deletes them, like any other.
      const isNew = saveRecording(sql, row.id, event.sessionId, event.recording);
      const announced = isNew && announce("stream.recording.ready", { streamId: row.id, sessionId: event.sessionId, ...event.recording });
      return { outcome: "recorded", announced };
    }
  }
}

function queueWebhook<T extends WebhookEventType>(outbox: WebhookOutbox, row: StreamRow, type: T, data: WebhookData[T], now: number): boolean {
  if (!row.webhook_url || !row.webhook_secret) return false;
  const event = webhookEvent(type, data, now);
  outbox.enqueue(row.id, { id: event.id, url: row.webhook_url, secret: row.webhook_secret, body: JSON.stringify(event) }, now);
  return true;
}
