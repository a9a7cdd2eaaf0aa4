import type { PlaylistGate } from "../../durable-objects/playlist-gate";
import { ERROR_CACHE_CONTROL, TARGET_DURATION_SECONDS } from "../shared/cache-policy";
import type { MediaObject } from "../shared/layout";
import { mediaCounters } from "./metrics";
import { playlistListing, type PlaylistListing } from "./playlist-listing";
import type { MediaSnapshot } from "./snapshot";

/**
 * LL-HLS blocking playlist reloads of the stored playlist, whole segments only (RFC 8216bis 6.2.5.2,
 * 6.2.6): what answers when the stream's PlaylistGate holds no partial playlist for the rendition
 * (partial-playlist.ts, which is asked first). Our media playlists say
 * CAN-BLOCK-RELOAD=YES; a player holding segment N then asks for `index.m3u8?_HLS_msn=N+1` at once, and
 * the answer waits until segment N+1 is listed. It reaches the player as soon as the playlist naming it
 * is stored, where a polling player would learn of it up to a reload interval plus the playlist's cache
 * lifetime later. Every viewer of a rendition asks for the same number, so the answer is cached under
 * it: one wait per isolate (request collapsing) and, in production, one per data centre (Workers Cache
 * keys on the query string).
 */
export type DeliveryDirectives = { ok: true; msn: number | null; part: number | null } | { ok: false; reason: string };

/** Far beyond any real stream (a segment every second for 30 years); keeps the number exact in a double. */
const MAX_MSN = 1_000_000_000;
const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;

/**
 * The directives of a media playlist request. `_HLS_part` is answered from a partial playlist; the stored
 * playlist lists no parts, so there part p of segment N is there when N is. `_HLS_skip` is ignored, which
 * the RFC allows (we offer no delta updates and answer with the whole playlist).
 */
export function parseDeliveryDirectives(params: URLSearchParams): DeliveryDirectives {
  const msn = params.get("_HLS_msn");
  const part = params.get("_HLS_part");
  if (msn === null) {
    return part === null ? { ok: true, msn: null, part: null } : { ok: false, reason: "_HLS_part needs _HLS_msn" };
  }
  if (!DECIMAL.test(msn) || Number(msn) > MAX_MSN) return { ok: false, reason: "_HLS_msn must be a media sequence number" };
  if (part !== null && !DECIMAL.test(part)) return { ok: false, reason: "_HLS_part must be a part number" };
  return { ok: true, msn: Number(msn), part: part === null ? null : Number(part) };
}

export interface BlockingReload {
  object: MediaObject;
  msn: number;
  read: () => Promise<MediaSnapshot>;
  gate: Pick<DurableObjectStub<PlaylistGate>, "waitFor">;
}

/**
 * The answer to `_HLS_msn=msn`: the stored playlist once it lists msn (or has ended); 400 for a number more
 * than two segments ahead (RFC 8216bis 6.2.5.2: the player is confused, waiting would not help). If the
 * segment is not listed within three target durations (the publisher stalled), the playlist as it is,
 * uncached: a player sees the stream has not advanced and goes back to plain reloads, where a 503 would
 * count as an error against the rendition.
 */
export async function blockingPlaylist({ object, msn, read, gate }: BlockingReload): Promise<MediaSnapshot> {
  const first = await read();
  const listing = listingOf(first);
  if (!listing || answers(listing, msn)) return first;
  if (msn > listing.last + 2) {
    return {
      status: 400,
      headers: { "Content-Type": "application/json; charset=UTF-8", "Cache-Control": ERROR_CACHE_CONTROL },
      body: JSON.stringify({ error: `_HLS_msn=${msn} is more than two segments past the playlist's last (${listing.last}); reload without it` }),
      cacheable: false,
    };
  }
  mediaCounters.blockingWaits += 1;
  // A failed gate is a wait that ended: the store is read again either way.
  const targetSeconds = listing.targetDurationSeconds ?? TARGET_DURATION_SECONDS;
  await gate.waitFor(object.key, msn, targetSeconds * 3000).catch((err: unknown) => console.error("playlist gate failed", object.key, err));
  const second = await read();
  const later = listingOf(second);
  if (!later || answers(later, msn)) return second;
  mediaCounters.blockingTimeouts += 1;
  return { ...second, headers: { ...second.headers, "Cache-Control": ERROR_CACHE_CONTROL }, cacheable: false };
}

/** What a stored playlist lists; null for any other answer (404, 503), which is passed on as it is. */
function listingOf(snapshot: MediaSnapshot): PlaylistListing | null {
  if (snapshot.status !== 200) return null;
  return playlistListing(typeof snapshot.body === "string" ? snapshot.body : new TextDecoder().decode(snapshot.body));
}

/** The playlist is the answer to `_HLS_msn=msn`: it lists that segment, or it will never grow again. */
function answers(listing: PlaylistListing, msn: number): boolean {
  return listing.ended || listing.last >= msn;
}
