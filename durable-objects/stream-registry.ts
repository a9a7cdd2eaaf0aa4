import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env";
import type { IngestEvent, StreamStatus } from "../workers/shared/ingest-api";
import { STREAM_KEY_PATTERN } from "../workers/shared/ingest-api";

/** What the registry knows about a stream. The stream key itself is never stored, only its SHA-256. */
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
}

export interface CreatedStream {
  record: StreamRecord;
  /** Shown once, at creation: only its hash is kept. */
  streamKey: string;
}

export type EventOutcome = "recorded" | "stale-session" | "unknown-stream" | "revoked";

type StreamRow = {
  id: string;
  title: string;
  status: string;
  session_id: string | null;
  renditions: string;
  created_at: number;
  revoked: number;
  signed_playback: number;
};

const ID_LENGTH = 12;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
// Largest multiple of 36 below 256: bytes at or above it are discarded so every character is equally likely.
const UNBIASED_BYTE_LIMIT = 252;
const KEY_BYTES = 20;

/**
 * The one registry of streams for the whole deployment. A single SQLite-backed object gives every
 * ingest node and API call the same consistent view (a revoked key stops authorizing at once), and
 * the traffic is tiny: one call per publish, per status change and per API request, never per viewer.
 */
export class StreamRegistry extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS streams (
        id          TEXT PRIMARY KEY,
        title       TEXT NOT NULL,
        key_hash    TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        status      TEXT NOT NULL DEFAULT 'idle',
        session_id  TEXT,
        renditions  TEXT NOT NULL DEFAULT '[]',
        revoked     INTEGER NOT NULL DEFAULT 0
      )`);
    addMissingColumns(ctx.storage.sql);
  }

  async createStream(title: string, signedPlayback = false): Promise<CreatedStream> {
    const streamKey = `sk_${toHex(crypto.getRandomValues(new Uint8Array(KEY_BYTES)))}`;
    const keyHash = await sha256Hex(streamKey);
    let id = randomStreamId();
    while (this.findRow(id)) id = randomStreamId();
    this.ctx.storage.sql.exec(
      "INSERT INTO streams (id, title, key_hash, created_at, signed_playback) VALUES (?, ?, ?, ?, ?)",
      id,
      title,
      keyHash,
      Date.now(),
      signedPlayback ? 1 : 0,
    );
    return { record: toRecord(this.findRow(id)!), streamKey };
  }

  getStream(id: string): StreamRecord | null {
    const row = this.findRow(id);
    return row ? toRecord(row) : null;
  }

  listStreams(): StreamRecord[] {
    return this.ctx.storage.sql.exec<StreamRow>("SELECT * FROM streams ORDER BY created_at DESC").toArray().map(toRecord);
  }

  listLive(): StreamRecord[] {
    return this.ctx.storage.sql
      .exec<StreamRow>("SELECT * FROM streams WHERE status = 'live' AND revoked = 0 ORDER BY created_at DESC")
      .toArray()
      .map(toRecord);
  }

  /** The stream a key publishes to, or null for a malformed, unknown or revoked key. */
  async authorizeKey(streamKey: string): Promise<string | null> {
    if (!STREAM_KEY_PATTERN.test(streamKey)) return null;
    const rows = this.ctx.storage.sql
      .exec<{ id: string }>("SELECT id FROM streams WHERE key_hash = ? AND revoked = 0", await sha256Hex(streamKey))
      .toArray();
    return rows[0]?.id ?? null;
  }

  recordEvent(event: IngestEvent): EventOutcome {
    const row = this.findRow(event.streamId);
    if (!row) return "unknown-stream";
    if (event.type === "live") {
      if (row.revoked) return "revoked";
      // A new session always wins: an encoder that reconnects gets a fresh session before the old one says idle.
      this.ctx.storage.sql.exec(
        "UPDATE streams SET status = 'live', session_id = ?, renditions = ? WHERE id = ?",
        event.sessionId,
        JSON.stringify(event.renditions ?? []),
        event.streamId,
      );
      return "recorded";
    }
    // A late "idle" from a session that has already been replaced must not take the new one off the air.
    if (row.session_id !== event.sessionId) return "stale-session";
    this.ctx.storage.sql.exec(
      "UPDATE streams SET status = 'idle', session_id = NULL, renditions = '[]' WHERE id = ?",
      event.streamId,
    );
    return "recorded";
  }

  /** Returns false for an unknown id. Revoking twice is harmless. */
  revokeStream(id: string): boolean {
    if (!this.findRow(id)) return false;
    this.ctx.storage.sql.exec(
      "UPDATE streams SET revoked = 1, status = 'idle', session_id = NULL, renditions = '[]' WHERE id = ?",
      id,
    );
    return true;
  }

  /** The updated record, or null for an unknown id. */
  setSignedPlayback(id: string, signedPlayback: boolean): StreamRecord | null {
    if (!this.findRow(id)) return null;
    this.ctx.storage.sql.exec("UPDATE streams SET signed_playback = ? WHERE id = ?", signedPlayback ? 1 : 0, id);
    return toRecord(this.findRow(id)!);
  }

  private findRow(id: string): StreamRow | undefined {
    return this.ctx.storage.sql.exec<StreamRow>("SELECT * FROM streams WHERE id = ?", id).toArray()[0];
  }
}

function toRecord(row: StreamRow): StreamRecord {
  return {
    id: row.id,
    title: row.title,
    status: row.status === "live" ? "live" : "idle",
    sessionId: row.session_id,
    renditions: JSON.parse(row.renditions) as string[],
    createdAt: new Date(row.created_at).toISOString(),
    revoked: row.revoked === 1,
    signedPlayback: row.signed_playback === 1,
  };
}

/** Columns added after the table was first created: registries persisted by older versions get them here. */
export function addMissingColumns(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('streams')").toArray().map((c) => c.name));
  if (!columns.has("signed_playback")) sql.exec("ALTER TABLE streams ADD COLUMN signed_playback INTEGER NOT NULL DEFAULT 0");
}

function randomStreamId(): string {
  let id = "";
  while (id.length < ID_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(ID_LENGTH * 2))) {
      if (byte < UNBIASED_BYTE_LIMIT && id.length < ID_LENGTH) id += ID_ALPHABET[byte % ID_ALPHABET.length];
    }
  }
  return id;
}

async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
