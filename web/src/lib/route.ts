import { STREAM_ID_PATTERN, posterKey, urlPathForKey } from "../../../workers/shared/layout";

/** The stream id in `/watch/<id>` or `/embed/<id>` (trailing slash tolerated), or null when malformed. */
export function streamIdFromPath(pathname: string = location.pathname): string | null {
  const parts = pathname.split("/").filter(Boolean);
  const id = parts[1];
  return parts.length === 2 && id !== undefined && STREAM_ID_PATTERN.test(id) ? id : null;
}

/** Latest thumbnail the ingest node writes while a stream is live. */
export function posterUrl(streamId: string): string {
  return urlPathForKey(posterKey(streamId));
}

/** Shown wherever there is no thumbnail (offline, ended, missing poster). */
export const FALLBACK_POSTER = "/assets/poster.svg";

export function absoluteUrl(pathOrUrl: string): string {
  return new URL(pathOrUrl, location.origin).href;
}

/** Query parameter a signed-playback token arrives in (the Worker's TOKEN_PARAM). */
export const TOKEN_PARAM = "token";

/**
 * The playback token in the page's own URL (`/embed/<id>?token=...`, put there by the site that embeds the
 * player), or null. Tokens are URL-safe (A-Z a-z 0-9 - _ .); anything else is ignored.
 */
export function playbackTokenFromUrl(search: string = location.search): string | null {
  const token = new URLSearchParams(search).get(TOKEN_PARAM);
  return token && /^[A-Za-z0-9._-]{1,1024}$/.test(token) ? token : null;
}

/** `url` with the playback token added (or unchanged without one). */
export function withPlaybackToken(url: string, token: string | null | undefined): string {
  if (!token) return url;
  const u = new URL(url, location.origin);
  u.searchParams.set(TOKEN_PARAM, token);
  return u.href;
}
