import type { ChatMessage } from "../protocol";

/**
 * The room's durable state in its SQLite storage: messages, bans and settings. Nothing here depends on
 * whether the stream is live, so chat before, during and after a broadcast is one continuous history.
 */

/** Older messages are pruned past this many: a join only ever reads the last 100. */
const RETAINED_MESSAGES = 10_000;
const PRUNE_EVERY = 500;

type MessageRow = { id: number; user_id: string; nickname: string; text: string; ts: number };

export class ChatStore {
  // Read on every chat message, so kept in memory; written only by moderators.
  private slowMode: number;
  private lastId: number;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS messages (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id   TEXT NOT NULL,
        nickname  TEXT NOT NULL,
        text      TEXT NOT NULL,
        ts        INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS messages_by_user ON messages (user_id, id);
      CREATE TABLE IF NOT EXISTS bans (user_id TEXT PRIMARY KEY, banned_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.slowMode = Number(this.setting("slow_mode_seconds") ?? 0);
    // AUTOINCREMENT's own counter: it never goes back, even when the newest message was deleted.
    this.lastId = sql.exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").toArray()[0]?.seq ?? 0;
  }

  /** The id the next message will get. Ids are handed out before the write so a batch can go out first. */
  allocateId(): number {
    this.lastId += 1;
    return this.lastId;
  }

  /** Writes a batch of messages, whose ids came from allocateId(), in one go. */
  appendAll(messages: readonly ChatMessage[]): void {
    for (const m of messages) {
      this.sql.exec("INSERT INTO messages (id, user_id, nickname, text, ts) VALUES (?, ?, ?, ?, ?)", m.id, m.userId, m.nickname, m.text, m.ts);
    }
    const newest = messages.at(-1)?.id ?? 0;
    const oldest = messages[0]?.id ?? 0;
    if (Math.floor(newest / PRUNE_EVERY) > Math.floor((oldest - 1) / PRUNE_EVERY)) {
      this.sql.exec("DELETE FROM messages WHERE id <= ?", newest - RETAINED_MESSAGES);
    }
  }

  /** The last `limit` messages, oldest first. */
  recent(limit: number): ChatMessage[] {
    return this.sql
      .exec<MessageRow>("SELECT * FROM (SELECT * FROM messages ORDER BY id DESC LIMIT ?) ORDER BY id", limit)
      .toArray()
      .map((r) => ({ id: r.id, userId: r.user_id, nickname: r.nickname, text: r.text, ts: r.ts }));
  }

  delete(id: number): boolean {
    return this.sql.exec("DELETE FROM messages WHERE id = ?", id).rowsWritten > 0;
  }

  lastPostAt(userId: string): number | null {
    return this.sql.exec<{ ts: number }>("SELECT ts FROM messages WHERE user_id = ? ORDER BY id DESC LIMIT 1", userId).toArray()[0]?.ts ?? null;
  }

  ban(userId: string, now: number): void {
    this.sql.exec("INSERT OR IGNORE INTO bans (user_id, banned_at) VALUES (?, ?)", userId, now);
  }

  unban(userId: string): boolean {
    return this.sql.exec("DELETE FROM bans WHERE user_id = ?", userId).rowsWritten > 0;
  }

  isBanned(userId: string): boolean {
    return this.sql.exec("SELECT 1 FROM bans WHERE user_id = ?", userId).toArray().length > 0;
  }

  get slowModeSeconds(): number {
    return this.slowMode;
  }

  set slowModeSeconds(seconds: number) {
    this.setSetting("slow_mode_seconds", String(seconds));
    this.slowMode = seconds;
  }

  private setting(name: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM settings WHERE name = ?", name).toArray()[0]?.value;
  }

  private setSetting(name: string, value: string): void {
    this.sql.exec("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value);
  }
}
