/**
 * The one definition of where live media lives, shared by the ingest node (which writes objects) and the
 * edge Worker (which maps request paths to objects). Object keys and URL paths are the same string, minus
 * the leading slash, so a URL can never name anything the layout does not describe.
 *
 *   live/<streamId>/master.m3u8                              stable master playlist of the current session
 *   live/<streamId>/manifest.mpd                             live DASH manifest of the current session
 *   live/<streamId>/poster.jpg                               latest thumbnail
 *   live/<streamId>/<sessionId>/master.m3u8                  the session's own master: its recording's URL
 *   live/<streamId>/<sessionId>/<rendition>/init-1.mp4       CMAF init segment (a new number when the
 *                                                            media changes mid-session: a new ladder or
 *                                                            a reconnect with another format)
 *   live/<streamId>/<sessionId>/<rendition>/seg-00001.m4s    CMAF media segment
 *   live/<streamId>/<sessionId>/<rendition>/seg-00001.p0.m4s LL-HLS partial segment: the segment's first
 *                                                            fragment (a part of it, stored while the
 *                                                            segment grows; deleted soon after)
 *   live/<streamId>/<sessionId>/<rendition>/index.m3u8       media playlist (the whole session once a
 *                                                            recorded session has ended)
 *
 * Each publish gets a new sessionId, so a stream restarted under the same id never collides with the
 * segments (or the immutable cache entries) of an earlier session.
 */

export const LIVE_PREFIX = "live";

export const STREAM_ID_PATTERN = /^[a-z0-9]{12}$/;
export const SESSION_ID_PATTERN = /^[a-z0-9]{6,32}$/;
export const RENDITION_PATTERN = /^(?:[0-9]{2,4}p|audio)$/;
export const SEGMENT_FILE_PATTERN = /^seg-([0-9]{5,9})\.m4s$/;
export const PART_FILE_PATTERN = /^seg-([0-9]{5,9})\.p([0-9]{1,2})\.m4s$/;
export const INIT_FILE_PATTERN = /^init-([1-9][0-9]{0,3})\.mp4$/;

export type MediaKind = "master-playlist" | "media-playlist" | "dash-manifest" | "init-segment" | "media-segment" | "poster";

export interface MediaObject {
  key: string;
  kind: MediaKind;
  streamId: string;
  sessionId?: string;
  rendition?: string;
}

export const MEDIA_PLAYLIST_FILE = "index.m3u8";
export const MASTER_PLAYLIST_FILE = "master.m3u8";
export const DASH_MANIFEST_FILE = "manifest.mpd";
export const POSTER_FILE = "poster.jpg";

export function streamPrefix(streamId: string): string {
  return `${LIVE_PREFIX}/${streamId}/`;
}

export function masterPlaylistKey(streamId: string): string {
  return `${LIVE_PREFIX}/${streamId}/${MASTER_PLAYLIST_FILE}`;
}

export function dashManifestKey(streamId: string): string {
  return `${LIVE_PREFIX}/${streamId}/${DASH_MANIFEST_FILE}`;
}

export function posterKey(streamId: string): string {
  return `${LIVE_PREFIX}/${streamId}/${POSTER_FILE}`;
}

export function sessionPrefix(streamId: string, sessionId: string): string {
  return `${LIVE_PREFIX}/${streamId}/${sessionId}/`;
}

/** The session's own master playlist; after a recorded session ends it is the recording's URL. */
export function sessionMasterKey(streamId: string, sessionId: string): string {
  return `${LIVE_PREFIX}/${streamId}/${sessionId}/${MASTER_PLAYLIST_FILE}`;
}

export function renditionKey(streamId: string, sessionId: string, rendition: string, file: string): string {
  return `${LIVE_PREFIX}/${streamId}/${sessionId}/${rendition}/${file}`;
}

/** The n-th distinct init segment of a rendition within its session, from 1. */
export function initFileName(generation: number): string {
  return `init-${generation}.mp4`;
}

export function segmentFileName(sequence: number): string {
  return `seg-${String(sequence).padStart(5, "0")}.m4s`;
}

/** Part `index` (from 0) of segment `sequence`: an LL-HLS partial segment (EXT-X-PART). */
export function partFileName(sequence: number, index: number): string {
  return `seg-${String(sequence).padStart(5, "0")}.p${index}.m4s`;
}

/**
 * The URI a master playlist uses for a rendition's media playlist, relative to the master's own URL: the
 * stream's master names the session, a session's own master sits next to its renditions.
 */
export function variantUri(sessionId: string | null, rendition: string): string {
  return sessionId === null ? `${rendition}/${MEDIA_PLAYLIST_FILE}` : `${sessionId}/${rendition}/${MEDIA_PLAYLIST_FILE}`;
}

export function urlPathForKey(key: string): string {
  return `/${key}`;
}

export function hlsPath(streamId: string): string {
  return urlPathForKey(masterPlaylistKey(streamId));
}

export function dashPath(streamId: string): string {
  return urlPathForKey(dashManifestKey(streamId));
}

export function sessionMasterPath(streamId: string, sessionId: string): string {
  return urlPathForKey(sessionMasterKey(streamId, sessionId));
}

export function watchPath(streamId: string): string {
  return `/watch/${streamId}`;
}

/**
 * The clock DASH players sync with: the edge's GET /api/time (workers/routes/media.ts), an ISO date, never
 * cached. The live MPD's UTCTiming names it relative, so dash.js asks the edge that served the MPD.
 */
export const DASH_TIME_PATH = "/api/time";

export type ParseResult = { ok: true; object: MediaObject } | { ok: false; reason: string };

const MAX_PATH_LENGTH = 256;

/**
 * Maps a request path to the one object it may read, or says why it may not. Works on the raw (still
 * percent-encoded) path: any escape, dot segment or empty segment is refused rather than decoded, so
 * "..%2f" tricks never reach storage.
 */
export function parseMediaPath(pathname: string): ParseResult {
  if (pathname.length > MAX_PATH_LENGTH) return { ok: false, reason: "path too long" };
  if (!pathname.startsWith(`/${LIVE_PREFIX}/`)) return { ok: false, reason: "not a media path" };
  if (/[%\\]/.test(pathname)) return { ok: false, reason: "encoded or escaped characters are not allowed" };
  const parts = pathname.slice(1).split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) return { ok: false, reason: "empty or dot segment" };
  const [, streamId, a, b, c, ...rest] = parts;
  if (rest.length > 0) return { ok: false, reason: "too many path segments" };
  if (!streamId || !STREAM_ID_PATTERN.test(streamId)) return { ok: false, reason: "malformed stream id" };
  const key = parts.join("/");
  if (b === undefined) {
    if (a === MASTER_PLAYLIST_FILE) return { ok: true, object: { key, kind: "master-playlist", streamId } };
    if (a === DASH_MANIFEST_FILE) return { ok: true, object: { key, kind: "dash-manifest", streamId } };
    if (a === POSTER_FILE) return { ok: true, object: { key, kind: "poster", streamId } };
    return { ok: false, reason: "unknown file" };
  }
  if (!SESSION_ID_PATTERN.test(a!)) return { ok: false, reason: "malformed session id" };
  if (c === undefined) {
    if (b === MASTER_PLAYLIST_FILE) return { ok: true, object: { key, kind: "master-playlist", streamId, sessionId: a } };
    return { ok: false, reason: "unknown file" };
  }
  if (!RENDITION_PATTERN.test(b)) return { ok: false, reason: "malformed rendition" };
  const base = { key, streamId, sessionId: a, rendition: b };
  if (c === MEDIA_PLAYLIST_FILE) return { ok: true, object: { ...base, kind: "media-playlist" } };
  if (INIT_FILE_PATTERN.test(c)) return { ok: true, object: { ...base, kind: "init-segment" } };
  // A part is media like a segment (immutable once stored, video/mp4): the same kind and cache policy.
  if (SEGMENT_FILE_PATTERN.test(c) || PART_FILE_PATTERN.test(c)) return { ok: true, object: { ...base, kind: "media-segment" } };
  return { ok: false, reason: "unknown file" };
}

export const CONTENT_TYPES: Record<MediaKind, string> = {
  "master-playlist": "application/vnd.apple.mpegurl",
  "media-playlist": "application/vnd.apple.mpegurl",
  "dash-manifest": "application/dash+xml",
  "init-segment": "video/mp4",
  "media-segment": "video/mp4",
  poster: "image/jpeg",
};
