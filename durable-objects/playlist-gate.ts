import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env";
import type { PartialPlaylistNotice } from "../workers/shared/ingest-api";

/**
 * Where a stream's blocking playlist reloads wait (LL-HLS `_HLS_msn`/`_HLS_part`). One per stream, named by
 * the stream id, so the notices of a stream and the waits on it meet in one place. Two roles:
 *
 * - Partial playlists (EXT-X-PART, workers/media/partial-playlist.ts): the ingest node sends the whole LL
 *   playlist after each part it stores (too often for R2's one write per second per key), and the gate
 *   keeps the newest per rendition and answers requests from it, holding those that ask for a part not
 *   listed yet.
 * - Whole segments (workers/media/blocking-reload.ts), for a rendition without a partial playlist here:
 *   the ingest node tells it each time a media playlist is stored, and it wakes the requests waiting for
 *   that media sequence number; the edge then reads the playlist itself from R2.
 *
 * Memory only. The newest number per playlist is a hint that the next notice (one per segment) renews; a
 * partial playlist is renewed by the next part, half a second later. After an eviction the edge falls
 * back to the stored playlist (whole segments) until the next part's notice, so nothing is lost with it.
 */

/** A partial playlist and the numbers the ingest node sent with it (PartialPlaylistNotice, less the names). */
export type PartialPlaylist = Pick<PartialPlaylistNotice, "playlist" | "lastSegment" | "lastPartSegment" | "lastPart" | "ended">;

/**
 * The answer to a media playlist request from a partial playlist: `tooFar` for a segment more than two
 * past the newest listed, `last` (RFC 8216bis 6.2.5.2: a 400); else the playlist, and whether it has what
 * was asked for (false: the wait timed out, and this is the newest there is).
 */
export type PartialAnswer = { tooFar: true; last: number } | { playlist: string; reached: boolean };

/** A blocking request is answered within three target durations (RFC 8216bis 6.2.5.2); this caps what a caller may ask. */
const MAX_WAIT_MS = 30_000;
/** playlists remembered, of each kind; a stream has a handful of renditions per session */
const MAX_PLAYLISTS = 64;
/**
 * How long a partial playlist is served after its last notice. Parts come every half second while the
 * publish runs. A pause as long as an encoder's reconnect window (30 s by default) keeps it: players
 * stay on one kind of playlist (with parts) across the break instead of falling back to whole segments
 * and then returning. After that (a crashed ingest node's last part) the stored playlist, the durable
 * copy, takes over. A session's end is the ended playlist, which for a recorded session is the whole
 * session's.
 */
const PARTIAL_HOLD_MS = 30_000;

interface HeldPartial extends PartialPlaylist {
  /** Date.now() when it was published */
  at: number;
}

export class PlaylistGate extends DurableObject<Env> {
  private readonly newest = new Map<string, number>();
  private readonly segmentWaiters = new Waiters<number>();
  private readonly partials = new Map<string, HeldPartial>();
  private readonly partialWaiters = new Waiters<PartialPlaylist>();

  /** The playlist stored at `key` now lists up to `mediaSequence`. */
  stored(key: string, mediaSequence: number): void {
    if ((this.newest.get(key) ?? -1) >= mediaSequence) return;
    remember(this.newest, key, mediaSequence);
    this.segmentWaiters.wake(key, mediaSequence);
  }

  /** true once the playlist at `key` lists `mediaSequence` (at once if it does already); false after `timeoutMs`. */
  async waitFor(key: string, mediaSequence: number, timeoutMs: number): Promise<boolean> {
    if ((this.newest.get(key) ?? -1) >= mediaSequence) return true;
    return (await this.segmentWaiters.wait(key, (newest) => newest >= mediaSequence, timeoutMs)) !== undefined;
  }

  /**
   * The ingest node's newest partial playlist for `key` (renditionKey(..., index.m3u8)). Taken unless it is
   * older than the one held (notices can overtake each other): false then, and nothing changes.
   */
  publishPartial(key: string, partial: PartialPlaylist): boolean {
    const held = this.partials.get(key);
    if (held && isOlder(partial, held)) return false;
    const { playlist, lastSegment, lastPartSegment, lastPart, ended } = partial;
    // Copied field by field: an RPC caller's extra properties are not kept in memory.
    remember(this.partials, key, { playlist, lastSegment, lastPartSegment, lastPart, ended, at: Date.now() });
    this.partialWaiters.wake(key, partial);
    return true;
  }

  /**
   * The answer to a request for `key` with `_HLS_msn=msn` and `_HLS_part=part` (null when not sent) from
   * the partial playlist held for it: null when there is none (or its publish has stopped, PARTIAL_HOLD_MS),
   * and the edge serves the stored playlist instead. Without `msn`, or once the playlist has what was
   * asked for, at once; else after waiting up to `timeoutMs` (0: not at all) for a notice that has it.
   */
  async partialPlaylist(key: string, msn: number | null, part: number | null, timeoutMs: number): Promise<PartialAnswer | null> {
    const held = this.partials.get(key);
    if (!held || Date.now() - held.at > PARTIAL_HOLD_MS) return null;
    if (msn === null || satisfies(held, msn, part)) return { playlist: held.playlist, reached: true };
    // The newest segment listed, whole or in parts.
    const last = Math.max(held.lastSegment, held.lastPartSegment);
    if (msn > last + 2) return { tooFar: true, last };
    const later = timeoutMs > 0 ? await this.partialWaiters.wait(key, (p) => satisfies(p, msn, part), timeoutMs) : undefined;
    if (later) return { playlist: later.playlist, reached: true };
    // The newest there is, even if another notice came meanwhile that was not enough.
    return { playlist: (this.partials.get(key) ?? held).playlist, reached: false };
  }
}

/**
 * Does the playlist answer `_HLS_msn=msn` (and `_HLS_part=part`)? RFC 8216bis 6.2.5.2: it has ended, or it
 * lists segment msn whole, or (with a part) it lists that part or any later one. A part index past the
 * segment's last part is answered by the segment's completion or the next segment's first part.
 */
function satisfies(p: PartialPlaylist, msn: number, part: number | null): boolean {
  if (p.ended || p.lastSegment >= msn) return true;
  if (part === null) return false;
  return p.lastPartSegment > msn || (p.lastPartSegment === msn && p.lastPart >= part);
}

/**
 * Is `candidate` older than `held`? An ended playlist is the last word; otherwise neither the newest whole
 * segment nor the newest part may go back. Positions are compared with a whole segment counting as past
 * its every part, so "segment 7 complete, its parts still listed" is newer than "part 7.3".
 */
function isOlder(candidate: PartialPlaylist, held: PartialPlaylist): boolean {
  if (held.ended !== candidate.ended) return held.ended;
  if (candidate.lastSegment < held.lastSegment) return true;
  return comparePositions(position(candidate), position(held)) < 0;
}

type Position = [segment: number, part: number];

function position(p: PartialPlaylist): Position {
  return comparePositions([p.lastSegment, Infinity], [p.lastPartSegment, p.lastPart]) >= 0 ? [p.lastSegment, Infinity] : [p.lastPartSegment, p.lastPart];
}

function comparePositions(a: Position, b: Position): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

/** Sets `key`, re-inserted so the Map's order is least recently published first, which is what goes when it is full. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PLAYLISTS) map.delete(map.keys().next().value!);
}

interface Waiter<T> {
  ready: (value: T) => boolean;
  wake: (value: T | undefined) => void;
}

/** Requests held per key until a published value is `ready` for them (they get it) or their time is up (undefined). */
class Waiters<T> {
  private readonly byKey = new Map<string, Set<Waiter<T>>>();

  wait(key: string, ready: (value: T) => boolean, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      let set = this.byKey.get(key);
      if (!set) this.byKey.set(key, (set = new Set()));
      const waiters = set;
      const waiter: Waiter<T> = {
        ready,
        wake: (value) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (waiters.size === 0 && this.byKey.get(key) === waiters) this.byKey.delete(key);
          resolve(value);
        },
      };
      const timer = setTimeout(() => waiter.wake(undefined), Math.max(0, Math.min(timeoutMs, MAX_WAIT_MS)));
      waiters.add(waiter);
    });
  }

  wake(key: string, value: T): void {
    for (const waiter of this.byKey.get(key) ?? []) {
      if (waiter.ready(value)) waiter.wake(value);
    }
  }
}
