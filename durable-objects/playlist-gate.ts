import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env";

/**
 * Where a stream's blocking playlist reloads wait (LL-HLS `_HLS_msn`, workers/media/blocking-reload.ts):
 * the ingest node tells it each time a media playlist is stored, and it wakes the requests waiting for
 * that media sequence number. One per stream, named by the stream id, so the notices of a stream and the
 * waits on it meet in one place; the edge then reads the playlist itself from R2.
 *
 * Memory only: the newest number per playlist is a hint that the next notice (one per segment) renews.
 * After an eviction a wait lasts until that next notice or its own deadline, and the edge then answers
 * with whatever the store holds, so nothing is lost with it.
 */
interface Waiter {
  mediaSequence: number;
  wake: (stored: boolean) => void;
}

/** A blocking request is answered within three target durations (RFC 8216bis 6.2.5.2); this caps what a caller may ask. */
const MAX_WAIT_MS = 30_000;
/** playlists remembered; a stream has a handful of renditions per session */
const MAX_PLAYLISTS = 64;

export class PlaylistGate extends DurableObject<Env> {
  private readonly newest = new Map<string, number>();
  private readonly waiting = new Map<string, Set<Waiter>>();

  /** The playlist stored at `key` now lists up to `mediaSequence`. */
  stored(key: string, mediaSequence: number): void {
    if ((this.newest.get(key) ?? -1) >= mediaSequence) return;
    // Re-inserted so the Map's order is least recently stored first, which is what goes when it is full.
    this.newest.delete(key);
    this.newest.set(key, mediaSequence);
    if (this.newest.size > MAX_PLAYLISTS) this.newest.delete(this.newest.keys().next().value!);
    for (const waiter of this.waiting.get(key) ?? []) {
      if (waiter.mediaSequence <= mediaSequence) waiter.wake(true);
    }
  }

  /** true once the playlist at `key` lists `mediaSequence` (at once if it does already); false after `timeoutMs`. */
  waitFor(key: string, mediaSequence: number, timeoutMs: number): Promise<boolean> {
    if ((this.newest.get(key) ?? -1) >= mediaSequence) return Promise.resolve(true);
    return new Promise((resolve) => {
      let set = this.waiting.get(key);
      if (!set) this.waiting.set(key, (set = new Set()));
      const waiters = set;
      const waiter: Waiter = {
        mediaSequence,
        wake: (stored) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (waiters.size === 0 && this.waiting.get(key) === waiters) this.waiting.delete(key);
          resolve(stored);
        },
      };
      const timer = setTimeout(() => waiter.wake(false), Math.max(0, Math.min(timeoutMs, MAX_WAIT_MS)));
      waiters.add(waiter);
    });
  }
}
