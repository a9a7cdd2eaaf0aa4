/**
 * The registry's SQLite tables. `CREATE TABLE IF NOT EXISTS` never changes a table that already exists, so
 * columns added later are listed in ADDED_COLUMNS and added to registries persisted by older versions.
 */
export function createSchema(sql: SqlStorage): void {
  sql.exec(`
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
  addMissingColumns(sql);
  sql.exec(`
    CREATE TABLE IF NOT EXISTS recordings (
      stream_id         TEXT NOT NULL,
      session_id        TEXT NOT NULL,
      master_path       TEXT NOT NULL,
      duration_seconds  REAL NOT NULL,
      started_at        INTEGER NOT NULL,
      ended_at          INTEGER NOT NULL,
      renditions        TEXT NOT NULL,
      PRIMARY KEY (stream_id, session_id)
    )`);
  sql.exec(`
    CREATE TABLE IF NOT EXISTS webhook_outbox (
      id               TEXT PRIMARY KEY,
      stream_id        TEXT NOT NULL,
      url              TEXT NOT NULL,
      secret           TEXT NOT NULL,
      body             TEXT NOT NULL,
      status           TEXT NOT NULL DEFAULT 'pending',
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  INTEGER NOT NULL,
      created_at       INTEGER NOT NULL,
      attempt_log      TEXT NOT NULL DEFAULT '[]'
    )`);
  sql.exec("CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (status, next_attempt_at)");
}

/** Columns of `streams` newer than the table itself, with the value existing streams get. */
const ADDED_COLUMNS: ReadonlyArray<readonly [name: string, definition: string]> = [
  ["signed_playback", "INTEGER NOT NULL DEFAULT 0"],
  ["record", "INTEGER NOT NULL DEFAULT 0"],
  ["webhook_url", "TEXT"],
  ["webhook_secret", "TEXT"],
  // The latest IngestHealth of the current session, as JSON.
  ["health", "TEXT"],
];

/** Adds whichever of ADDED_COLUMNS `streams` lacks; running it again changes nothing. */
export function addMissingColumns(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('streams')").toArray().map((c) => c.name));
  for (const [name, definition] of ADDED_COLUMNS) {
    if (!columns.has(name)) sql.exec(`ALTER TABLE streams ADD COLUMN ${name} ${definition}`);
  }
}
