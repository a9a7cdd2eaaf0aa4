import type { IngestHealth, StreamStatus } from "../../workers/shared/ingest-api";

/** What the registry knows about a stream. Never the key (only its SHA-256) and never the webhook secret. */
export interface StreamRecord {
  id: string;
  title: string;
  status: StreamStatus;
  sessionId: string | null;
  renditions: string[];
  createdAt: string;
  revoked: boolean;
  /** playback requires a signed token (workers/media/playback-token.ts) */
  signedPlayback: boolean;
  /** every session is kept as a recording */
  record: boolean;
  /** where the stream's events are POSTed (durable-objects/registry/webhooks.ts) */
  webhookUrl: string | null;
}

/** The studio's view of the current session; health is null while idle or before the first report. */
export interface StreamHealth {
  status: StreamStatus;
  sessionId: string | null;
  health: IngestHealth | null;
}

export type StreamRow = {
  id: string;
  title: string;
  key_hash: string;
  status: string;
  session_id: string | null;
  renditions: string;
  created_at: number;
  revoked: number;
  signed_playback: number;
  record: number;
  webhook_url: string | null;
  webhook_secret: string | null;
  health: string | null;
};

export function toRecord(row: StreamRow): StreamRecord {
  return {
    id: row.id,
    title: row.title,
    status: toStatus(row.status),
    sessionId: row.session_id,
    renditions: JSON.parse(row.renditions) as string[],
    createdAt: new Date(row.created_at).toISOString(),
    revoked: row.revoked === 1,
    signedPlayback: row.signed_playback === 1,
    record: row.record === 1,
    webhookUrl: row.webhook_url,
  };
}

export function toHealth(row: StreamRow): StreamHealth {
  return {
    status: toStatus(row.status),
    sessionId: row.session_id,
    health: row.health === null ? null : (JSON.parse(row.health) as IngestHealth),
  };
}

function toStatus(status: string): StreamStatus {
  return status === "live" ? "live" : "idle";
}
