/**
 * The contract between the ingest node and the edge Worker's internal ingest routes. Both sides import
 * these types; the Worker validates bodies at runtime. Every call carries
 * `Authorization: Bearer <INGEST_SECRET>`.
 *
 *   POST /internal/ingest/authorize  {streamKey}                       -> 200 {streamId, record} | 403 {error}
 *   POST /internal/ingest/events     {streamId, sessionId, type, ...}  -> 204
 *   POST /internal/ingest/playlists  {streamId, sessionId, rendition, mediaSequence}  -> 204
 *   POST /internal/ingest/parts      {streamId, sessionId, rendition, playlist, ...}  -> 204
 *
 * Events of one session, in order: "live" once the master playlist is stored (with the renditions and the
 * ladder decision), "health" every few seconds while live, "idle" when the session has ended, and, for a
 * stream that records, "recording-ready" once its whole-session playlists are stored (after "idle").
 */
export const INGEST_AUTHORIZE_PATH = "/internal/ingest/authorize";
export const INGEST_EVENTS_PATH = "/internal/ingest/events";
/**
 * A media playlist was stored and now lists up to segment `mediaSequence`: wakes the players waiting for
 * it (blocking reloads, workers/media/blocking-reload.ts). Sent once, never retried: a lost notice delays
 * those players by at most one segment, until the next.
 */
export const INGEST_PLAYLISTS_PATH = "/internal/ingest/playlists";

export interface PlaylistStoredNotice {
  streamId: string;
  sessionId: string;
  rendition: string;
  mediaSequence: number;
}

/**
 * LL-HLS partial segments (EXT-X-PART). A rendition's playlist then changes with every part (about twice
 * a second), beyond R2's one write per second per key, so it is not stored: the ingest node renders it
 * after each part is stored and sends it here, to the stream's PlaylistGate (memory only), which answers
 * `_HLS_msn`/`_HLS_part` requests from it. The stored playlist (whole segments) stays the durable copy,
 * served whenever the gate has no partial playlist for a rendition. Sent once, never retried: the next
 * part (half a second later) brings a newer playlist.
 */
export const INGEST_PARTS_PATH = "/internal/ingest/parts";

/** Largest partial playlist the edge takes: a live window of a few segments is a few KiB. */
export const MAX_PARTIAL_PLAYLIST_BYTES = 64 * 1024;

export interface PartialPlaylistNotice {
  streamId: string;
  sessionId: string;
  rendition: string;
  /** the whole media playlist: the stored window's segments plus EXT-X-PART lines for the newest ones */
  playlist: string;
  /** media sequence number of the newest whole segment it lists; -1 if none */
  lastSegment: number;
  /** the newest part it lists: part `lastPart` (from 0) of segment `lastPartSegment`; -1 and -1 if none */
  lastPartSegment: number;
  lastPart: number;
  /** the playlist carries EXT-X-ENDLIST: every waiting request is answered with it at once */
  ended: boolean;
}

/** Stream keys look like `sk_` followed by 40 lowercase hex characters. */
export const STREAM_KEY_PATTERN = /^sk_[0-9a-f]{40}$/;

/** How often a live session reports its health. */
export const HEALTH_INTERVAL_SECONDS = 5;

export interface AuthorizeRequest {
  streamKey: string;
}

export interface AuthorizeResponse {
  streamId: string;
  /** keep every segment of the session and publish it as a recording when it ends */
  record: boolean;
}

export type IngestEventType = "live" | "health" | "idle" | "recording-ready";

/** Whether the source itself is the top rung, and why (ingest-node/ladder/passthrough.ts decides). */
export interface LadderDecision {
  topRung: "passthrough" | "transcoded";
  reason: string;
}

/** What the studio shows of a live session; null where nothing was measured yet. */
export interface IngestHealth {
  /** the publisher's incoming bitrate, kbit/s, over the last interval */
  inputKbps: number | null;
  /** the source's frame rate */
  inputFps: number | null;
  /** seconds between the source's keyframes */
  keyframeIntervalSeconds: number | null;
  /** media seconds encoded per wall second (1.0 is real time) */
  encoderSpeed: number | null;
  /** how far encoding is behind the source, seconds */
  lagSeconds: number;
  /** renditions being produced now, e.g. ["1080p","720p","audio"] */
  renditions: string[];
  /** rungs dropped this session to keep up with live, costliest first */
  shed: string[];
  /** segments lost because a storage outage outlasted the spool */
  droppedSegments: number;
  ladder: LadderDecision;
  /** ISO time of the measurement */
  measuredAt: string;
}

/** A finished session kept whole: an EXT-X-ENDLIST playlist over every segment, in R2 for good. */
export interface RecordingInfo {
  /** URL path of the session's master playlist (layout.sessionMasterPath), stable for the recording's life */
  masterPath: string;
  durationSeconds: number;
  /** ISO times */
  startedAt: string;
  endedAt: string;
  renditions: string[];
}

export interface IngestEvent {
  streamId: string;
  sessionId: string;
  type: IngestEventType;
  /** renditions being produced, e.g. ["720p","480p","360p","audio"], sent with "live" */
  renditions?: string[];
  /** sent with "live" and "health" */
  health?: IngestHealth;
  /** sent with "recording-ready" */
  recording?: RecordingInfo;
}

export type StreamStatus = "idle" | "live";
