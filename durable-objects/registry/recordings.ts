import type { RecordingInfo } from "../../workers/shared/ingest-api";

/** A finished session kept whole, as the API lists it. */
export interface StoredRecording extends RecordingInfo {
  sessionId: string;
}

type RecordingRow = {
  session_id: string;
  master_path: string;
  duration_seconds: number;
  started_at: number;
  ended_at: number;
  renditions: string;
};

/**
 * Stores a recording. Returns false when the session was already stored: the ingest node retries an event
 * whose answer it lost, and a retry must not announce the same recording twice.
 */
export function saveRecording(sql: SqlStorage, streamId: string, sessionId: string, recording: RecordingInfo): boolean {
  const known = sql.exec("SELECT 1 FROM recordings WHERE stream_id = ? AND session_id = ?", streamId, sessionId).toArray().length > 0;
  sql.exec(
    `INSERT OR REPLACE INTO recordings (stream_id, session_id, master_path, duration_seconds, started_at, ended_at, renditions)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    streamId,
    sessionId,
    recording.masterPath,
    recording.durationSeconds,
    Date.parse(recording.startedAt),
    Date.parse(recording.endedAt),
    JSON.stringify(recording.renditions),
  );
  return !known;
}

/** Newest first. */
export function listRecordings(sql: SqlStorage, streamId: string): StoredRecording[] {
  return sql
    .exec<RecordingRow>("SELECT * FROM recordings WHERE stream_id = ? ORDER BY started_at DESC, session_id DESC", streamId)
    .toArray()
    .map(toRecording);
}

export function findRecording(sql: SqlStorage, streamId: string, sessionId: string): StoredRecording | null {
  const row = sql.exec<RecordingRow>("SELECT * FROM recordings WHERE stream_id = ? AND session_id = ?", streamId, sessionId).toArray()[0];
  return row ? toRecording(row) : null;
}

/** Returns false when there was no such recording. */
export function deleteRecording(sql: SqlStorage, streamId: string, sessionId: string): boolean {
  return sql.exec("DELETE FROM recordings WHERE stream_id = ? AND session_id = ?", streamId, sessionId).rowsWritten > 0;
}

function toRecording(row: RecordingRow): StoredRecording {
  return {
    sessionId: row.session_id,
    masterPath: row.master_path,
    durationSeconds: row.duration_seconds,
    startedAt: new Date(row.started_at).toISOString(),
    endedAt: new Date(row.ended_at).toISOString(),
    renditions: JSON.parse(row.renditions) as string[],
  };
}
