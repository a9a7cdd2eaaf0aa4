import type { MediaKind } from "./layout";

/**
 * Cache-Control for every media response, the one policy used by the edge Worker (and, through it, by
 * Workers Cache in production, which reads nothing but these headers). Kept pure so it is tested byte-exact.
 *
 * Why each value:
 * - Live media playlists change every segment: cached for at most half a target duration, so a player
 *   polling at the target duration never sees a playlist more than one segment old. stale-if-error=0
 *   stops Workers Cache from serving a frozen playlist "indefinitely" if the Worker errors.
 * - Segments and init segments never change once written (new sessions get new keys): immutable, a year.
 * - A playlist that carries EXT-X-ENDLIST never changes again either.
 * - The DASH manifest changes with every segment, like a live media playlist, and is never final: its key
 *   is the stream's (not the session's), so the next session rewrites it. Ended or not, it gets the live
 *   playlist's policy; a day of caching would show the next session's viewers the last one's end.
 * - A 404 for media that is not written yet must expire fast (Workers Cache keeps a bare 404 for 180 s).
 * - Errors (R2 unavailable) are never cached.
 */
export const TARGET_DURATION_SECONDS = 2;

const YEAR = 31_536_000;

export interface CachePolicyInput {
  kind: MediaKind;
  /** true when a media playlist carries EXT-X-ENDLIST; every other kind ignores it */
  ended?: boolean;
  targetDurationSeconds?: number;
}

export function cacheControlFor({ kind, ended = false, targetDurationSeconds = TARGET_DURATION_SECONDS }: CachePolicyInput): string {
  switch (kind) {
    case "init-segment":
    case "media-segment":
      return `public, max-age=${YEAR}, immutable`;
    case "media-playlist":
      return ended ? "public, max-age=86400" : livePlaylistPolicy(targetDurationSeconds);
    case "dash-manifest":
      // Even a session's last MPD: the next session rewrites the same key.
      return livePlaylistPolicy(targetDurationSeconds);
    case "master-playlist":
      return "public, max-age=2, s-maxage=2, stale-if-error=0";
    case "poster":
      return "public, max-age=10, s-maxage=10";
  }
}

/** At most half a target duration, and at least a second. */
function livePlaylistPolicy(targetDurationSeconds: number): string {
  const ttl = Math.max(1, Math.floor(targetDurationSeconds / 2));
  return `public, max-age=${ttl}, s-maxage=${ttl}, stale-if-error=0`;
}

/** A media object that does not exist (yet): cacheable, but only for a second. */
export const NOT_FOUND_CACHE_CONTROL = "public, max-age=1, s-maxage=1";

/** Storage or Worker failures: never cached anywhere. */
export const ERROR_CACHE_CONTROL = "no-store";

/** Pages and API answers that depend on who asks or change at any moment. */
export const DYNAMIC_CACHE_CONTROL = "no-store";
