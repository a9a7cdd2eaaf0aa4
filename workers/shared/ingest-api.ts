/**
 * The contract between the ingest node and the edge Worker's internal ingest routes. Both sides import
 * these types; the Worker validates bodies at runtime. Every call carries
 * `Authorization: Bearer <INGEST_SECRET>`.
 *
 *   POST /internal/ingest/authorize  {streamKey}                       -> 200 {streamId} | 403 {error}
 *   POST /internal/ingest/events     {streamId, sessionId, type, ...}  -> 204
 */
export const INGEST_AUTHORIZE_PATH = "/internal/ingest/authorize";
export const INGEST_EVENTS_PATH = "/internal/ingest/events";

/** Stream keys look like `sk_` followed by 40 lowercase hex characters. */
export const STREAM_KEY_PATTERN = /^sk_[0-9a-f]{40}$/;

export interface AuthorizeRequest {
  streamKey: string;
}

export interface AuthorizeResponse {
  streamId: string;
}

export type IngestEventType = "live" | "idle";

export interface IngestEvent {
  streamId: string;
  sessionId: string;
  type: IngestEventType;
  /** renditions being produced, e.g. ["720p","480p","360p"], sent with "live" */
  renditions?: string[];
}

export type StreamStatus = "idle" | "live";
