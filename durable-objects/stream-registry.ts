import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env";
import type { AuthorizeResponse } from "../workers/shared/ingest-api";
import { STREAM_KEY_PATTERN } from "../workers/shared/ingest-api";
import { randomStreamId, randomStreamKey, randomWebhookSecret, sha256Hex } from "./registry/crypto";
import { applyEvent, type EventOutcome, type RegistryEvent } from "./registry/events";
import { WebhookOutbox } from "./registry/outbox";
import { deleteRecording, findRecording, listRecordings, type StoredRecording } from "./registry/recordings";
import { toHealth, toRecord, type StreamHealth, type StreamRecord, type StreamRow } from "./registry/records";
import { createSchema } from "./registry/schema";

export type { RegistryEvent } from "./registry/events";
export type { StoredRecording } from "./registry/recordings";
export type { StreamHealth, StreamRecord } from "./registry/records";

export interface StreamSettings {
  signedPlayback?: boolean;
  record?: boolean;
  /** null removes the webhook */
  webhookUrl?: string | null;
}

export interface CreatedStream {
  record: StreamRecord;
  /** Shown once, at creation: only its hash is kept. */
  streamKey: string;
  /** Shown once, when a webhook URL is set: the receiver checks signatures with it. */
  webhookSecret?: string;
}

export interface UpdatedStream {
  record: StreamRecord;
  webhookSecret?: string;
}

/**
 * The one registry of streams for the whole deployment. A single SQLite-backed object gives every
 * ingest node and API call the same consistent view (a revoked or rotated key stops authorizing at once),
 * and the traffic is tiny: one call per publish, per status change, per health report every few seconds
 * and per API request, never per viewer. Its alarm delivers webhooks (registry/outbox.ts).
 */
export class StreamRegistry extends DurableObject<Env> {
  private readonly outbox: WebhookOutbox;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    createSchema(ctx.storage.sql);
    this.outbox = new WebhookOutbox(ctx.storage);
    // Pending deliveries outlive the object; re-arming costs one storage call per start and covers a crash
    // between storing an event and setting its alarm.
    void ctx.blockConcurrencyWhile(() => this.outbox.schedule());
  }

  async createStream(title: string, signedPlayback = false, settings: Omit<StreamSettings, "signedPlayback"> = {}): Promise<CreatedStream> {
    const streamKey = randomStreamKey();
    const keyHash = await sha256Hex(streamKey);
    const webhookUrl = settings.webhookUrl ?? null;
    const webhookSecret = webhookUrl === null ? null : randomWebhookSecret();
    let id = randomStreamId();
    while (this.findRow(id)) id = randomStreamId();
    this.ctx.storage.sql.exec(
      "INSERT INTO streams (id, title, key_hash, created_at, signed_playback, record, webhook_url, webhook_secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      id,
      title,
      keyHash,
      Date.now(),
      signedPlayback ? 1 : 0,
      settings.record ? 1 : 0,
      webhookUrl,
      webhookSecret,
    );
    return { record: toRecord(this.findRow(id)!), streamKey, ...(webhookSecret ? { webhookSecret } : {}) };
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

  /** The stream a key publishes to and whether it records, or null for a malformed, unknown, rotated or revoked key. */
  async authorizeKey(streamKey: string): Promise<AuthorizeResponse | null> {
    if (!STREAM_KEY_PATTERN.test(streamKey)) return null;
    const row = this.ctx.storage.sql
      .exec<{ id: string; record: number }>("SELECT id, record FROM streams WHERE key_hash = ? AND revoked = 0", await sha256Hex(streamKey))
      .toArray()[0];
    return row ? { streamId: row.id, record: row.record === 1 } : null;
  }

  /**
   * A new key for a stream; the old one stops authorizing at once. A publish already running goes on (the
   * key is checked when a publish starts). Null for an unknown or revoked stream.
   */
  async rotateKey(id: string): Promise<string | null> {
    const streamKey = randomStreamKey();
    const keyHash = await sha256Hex(streamKey);
    const row = this.findRow(id);
    if (!row || row.revoked) return null;
    this.ctx.storage.sql.exec("UPDATE streams SET key_hash = ? WHERE id = ?", keyHash, id);
    return streamKey;
  }

  async recordEvent(event: RegistryEvent): Promise<EventOutcome> {
    const row = this.findRow(event.streamId);
    if (!row) return "unknown-stream";
    const { outcome, announced } = applyEvent(this.ctx.storage.sql, this.outbox, row, event, Date.now());
    if (announced) await this.outbox.schedule();
    return outcome;
  }

  /** Returns false for an unknown id. Revoking twice is harmless. */
  revokeStream(id: string): boolean {
    if (!this.findRow(id)) return false;
    this.ctx.storage.sql.exec(
      "UPDATE streams SET revoked = 1, status = 'idle', session_id = NULL, renditions = '[]', health = NULL WHERE id = ?",
      id,
    );
    return true;
  }

  /**
   * Changes what is given and leaves the rest. Setting a webhook URL (even the same one) makes a new secret;
   * events still pending for the previous webhook are dropped. Null for an unknown id.
   */
  updateStream(id: string, changes: StreamSettings): UpdatedStream | null {
    if (!this.findRow(id)) return null;
    const sql = this.ctx.storage.sql;
    if (changes.signedPlayback !== undefined) sql.exec("UPDATE streams SET signed_playback = ? WHERE id = ?", changes.signedPlayback ? 1 : 0, id);
    if (changes.record !== undefined) sql.exec("UPDATE streams SET record = ? WHERE id = ?", changes.record ? 1 : 0, id);
    let webhookSecret: string | null = null;
    if (changes.webhookUrl !== undefined) {
      webhookSecret = changes.webhookUrl === null ? null : randomWebhookSecret();
      sql.exec("UPDATE streams SET webhook_url = ?, webhook_secret = ? WHERE id = ?", changes.webhookUrl, webhookSecret, id);
      this.outbox.dropPending(id, changes.webhookUrl === null ? "webhook removed" : "webhook changed", Date.now());
    }
    return { record: toRecord(this.findRow(id)!), ...(webhookSecret ? { webhookSecret } : {}) };
  }

  /** Null for an unknown or revoked stream. */
  getHealth(id: string): StreamHealth | null {
    const row = this.findRow(id);
    return row && !row.revoked ? toHealth(row) : null;
  }

  /** Newest first; null for an unknown or revoked stream. */
  listRecordings(id: string): StoredRecording[] | null {
    const row = this.findRow(id);
    return row && !row.revoked ? listRecordings(this.ctx.storage.sql, id) : null;
  }

  getRecording(id: string, sessionId: string): StoredRecording | null {
    return findRecording(this.ctx.storage.sql, id, sessionId);
  }

  /** Forgets the recording; its media must be deleted from R2 first (workers/routes/recordings.ts). */
  deleteRecording(id: string, sessionId: string): boolean {
    return deleteRecording(this.ctx.storage.sql, id, sessionId);
  }

  override alarm(): Promise<void> {
    return this.outbox.run();
  }

  private findRow(id: string): StreamRow | undefined {
    return this.ctx.storage.sql.exec<StreamRow>("SELECT * FROM streams WHERE id = ?", id).toArray()[0];
  }
}
