import type { PlaylistGate } from "../../durable-objects/playlist-gate";
import { cacheControlFor, ERROR_CACHE_CONTROL, TARGET_DURATION_SECONDS } from "../shared/cache-policy";
import { CONTENT_TYPES, type MediaObject } from "../shared/layout";
import { mediaCounters } from "./metrics";
import { playlistListing } from "./playlist-listing";
import type { MediaSnapshot } from "./snapshot";

/**
 * LL-HLS with parts (EXT-X-PART, RFC 8216bis 6.2.5.2): a live media playlist asked for while the ingest
 * node publishes parts comes from the stream's PlaylistGate, which holds the newest partial playlist per
 * rendition (the ingest node sends it after each part; it is never stored, see INGEST_PARTS_PATH). The
 * answer to `_HLS_msn=N&_HLS_part=P` waits there until part P of segment N (or anything later) is listed.
 * Every viewer of a rendition asks for the same numbers, so the route caches the answer under them, like
 * the whole-segment blocking reloads (blocking-reload.ts), which answer whenever the gate has nothing.
 */
export interface PartialRequest {
  object: MediaObject;
  /** `_HLS_msn` and `_HLS_part`, null when not sent */
  msn: number | null;
  part: number | null;
  gate: Pick<DurableObjectStub<PlaylistGate>, "partialPlaylist">;
}

/**
 * The answer from the gate's partial playlist; null when it has none for this rendition, or cannot be
 * asked, and the stored playlist answers as before. Like a stored playlist's blocking reload: a request
 * it cannot answer yet waits at most three target durations, then gets the newest playlist uncached.
 */
export async function partialPlaylist({ object, msn, part, gate }: PartialRequest): Promise<MediaSnapshot | null> {
  // Asked once without waiting first: how long to wait comes from the playlist's own target duration.
  const first = await askGate(gate, object.key, msn, part, 0);
  if (!first) return null;
  if ("tooFar" in first) return tooFar(msn, first.last);
  if (first.reached) {
    mediaCounters.partialAnswers += 1;
    return snapshot(first.playlist, true);
  }
  const targetSeconds = playlistListing(first.playlist).targetDurationSeconds ?? TARGET_DURATION_SECONDS;
  const second = await askGate(gate, object.key, msn, part, targetSeconds * 3000);
  // The gate forgot it meanwhile (or failed): the stored playlist answers, as it would have at first.
  if (!second) return null;
  if ("tooFar" in second) return tooFar(msn, second.last);
  mediaCounters.partialAnswers += 1;
  mediaCounters.partialWaits += 1;
  if (!second.reached) mediaCounters.partialTimeouts += 1;
  return snapshot(second.playlist, second.reached);
}

/**
 * The gate's answer for the playlist at `key` (PlaylistGate.partialPlaylist). A gate that fails is a gate
 * without a partial playlist: the stored one is still there.
 */
export async function askGate(gate: PartialRequest["gate"], key: string, msn: number | null, part: number | null, timeoutMs: number) {
  try {
    return await gate.partialPlaylist(key, msn, part, timeoutMs);
  } catch (err) {
    console.error("playlist gate failed", key, err);
    return null;
  }
}

/**
 * A reached answer gets the live playlist's lifetime, even an ended one (never the day a stored ENDLIST
 * playlist gets): the stored playlist takes over from the gate soon after the end, and for a recorded
 * session it lists the whole session. A timed-out one is never cached: the next request waits afresh.
 * The ETag is the text's hash, so 304s work as for stored objects.
 */
async function snapshot(playlist: string, reached: boolean): Promise<MediaSnapshot> {
  const bytes = new TextEncoder().encode(playlist);
  const { targetDurationSeconds } = playlistListing(playlist);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const etag = `"p-${Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
  return {
    status: 200,
    headers: {
      "Content-Type": CONTENT_TYPES["media-playlist"],
      "Cache-Control": reached ? cacheControlFor({ kind: "media-playlist", ...(targetDurationSeconds ? { targetDurationSeconds } : {}) }) : ERROR_CACHE_CONTROL,
      ETag: etag,
      "Content-Length": String(bytes.byteLength),
      "Accept-Ranges": "bytes",
    },
    body: playlist,
    cacheable: reached,
  };
}

function tooFar(msn: number | null, last: number): MediaSnapshot {
  return {
    status: 400,
    headers: { "Content-Type": "application/json; charset=UTF-8", "Cache-Control": ERROR_CACHE_CONTROL },
    body: JSON.stringify({ error: `_HLS_msn=${msn} is more than two segments past the playlist's last (${last}); reload without it` }),
    cacheable: false,
  };
}
