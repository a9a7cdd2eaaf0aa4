import { mediaCounters } from "./metrics";
import { readySnapshot, readyToResponse, type MediaSnapshot, type ReadySnapshot } from "./snapshot";

/** Only waitUntil is needed; Hono's and workers-types' ExecutionContext types differ elsewhere. */
type BackgroundTasks = Pick<ExecutionContext, "waitUntil">;

/**
 * What this isolate holds in memory, by cache key: reads under way, and finished reads for as long as
 * their own Cache-Control allows (at most HOLD_MAX_MS, within HOLD_MAX_BYTES).
 *
 * - A popular segment that is not cached yet is requested by every viewer at once; they all wait on the
 *   first request's storage read instead of each starting its own (request collapsing).
 * - Live viewers then ask for the same few newest segments and playlists within seconds of each other.
 *   Answering them from memory costs no Cache API round trip. That matters for every request the Worker
 *   runs: signed streams (Workers Cache may not store them, so each viewer request runs the Worker) and
 *   Workers Cache misses, and locally, where nothing fronts the Worker.
 * Never longer than the response's own lifetime, so memory never serves what caches.default would not.
 */
interface Held {
  /** the read, while it is under way (dropped once it has finished, so that only `ready` holds the bytes) */
  pending: Promise<MediaSnapshot> | undefined;
  /** its answer, once the read has finished: what every later request is answered from */
  ready: ReadySnapshot | undefined;
  /** Infinity while the read is under way */
  expiresAt: number;
  bytes: number;
}

const held = new Map<string, Held>();
let heldBytes = 0;

const HOLD_MAX_MS = 10_000;
// Workers give an isolate 128 MB; a live window of a 5-rung ladder is a few MB.
const HOLD_MAX_BYTES = 32 * 1024 * 1024;
const HOLD_MAX_OBJECT_BYTES = HOLD_MAX_BYTES / 8;

/**
 * The full (200 or 404) response for `cacheKey`: from memory, else caches.default, else `load`, shared
 * with every concurrent caller for the same key. `cacheKey` must be a plain GET without Range or
 * conditional headers, so the caches always hold whole objects (cache.put refuses 206).
 */
export async function fetchThroughEdgeCache(
  cacheKey: Request,
  load: () => Promise<MediaSnapshot>,
  ctx: BackgroundTasks,
): Promise<Response> {
  const inMemory = current(cacheKey.url);
  if (inMemory) return answerFromMemory(inMemory);

  const cache = caches.default;
  const hit = await cache.match(cacheKey);
  if (hit) {
    mediaCounters.cacheHits += 1;
    return hit;
  }

  // Another request may have started the read while this one was looking in the cache.
  const racing = current(cacheKey.url);
  if (racing) return answerFromMemory(racing);
  return whenRead(startLoad(cacheKey, load, cache, ctx));
}

/** The hit path (most requests, locally all but a few): no promise to wait on, no bytes copied. */
function answerFromMemory(entry: Held): Response | Promise<Response> {
  if (entry.ready) {
    mediaCounters.memoryHits += 1;
    return readyToResponse(entry.ready);
  }
  mediaCounters.collapsedRequests += 1;
  return whenRead(entry);
}

/** startLoad's own callback, registered first, has made the answer ready by the time this one runs. */
function whenRead(entry: Held): Promise<Response> {
  return entry.pending!.then(() => readyToResponse(entry.ready!));
}

function current(key: string): Held | undefined {
  const entry = held.get(key);
  if (!entry || entry.expiresAt > Date.now()) return entry;
  release(key, entry);
  return undefined;
}

function startLoad(cacheKey: Request, load: () => Promise<MediaSnapshot>, cache: Cache, ctx: BackgroundTasks): Held {
  const key = cacheKey.url;
  const pending = load();
  const entry: Held = { pending, ready: undefined, expiresAt: Infinity, bytes: 0 };
  held.set(key, entry);
  pending.then(
    (snapshot) => {
      const ready = readySnapshot(snapshot);
      entry.ready = ready;
      entry.pending = undefined;
      const bytes = typeof snapshot.body === "string" ? snapshot.body.length * 2 : snapshot.body.byteLength;
      const holdMs = snapshot.cacheable ? Math.min(HOLD_MAX_MS, lifetimeSeconds(snapshot) * 1000) : 0;
      if (holdMs <= 0 || bytes > HOLD_MAX_OBJECT_BYTES) release(key, entry);
      else hold(entry, bytes, holdMs);
      if (!snapshot.cacheable) return;
      ctx.waitUntil(cache.put(cacheKey, readyToResponse(ready)).catch((err: unknown) => console.error("cache.put failed", key, err)));
    },
    () => release(key, entry),
  );
  return entry;
}

function hold(entry: Held, bytes: number, holdMs: number): void {
  entry.expiresAt = Date.now() + holdMs;
  entry.bytes = bytes;
  heldBytes += bytes;
  // Oldest first (a Map iterates in insertion order); reads under way are never dropped.
  for (const [key, other] of held) {
    if (heldBytes <= HOLD_MAX_BYTES) break;
    if (other.expiresAt !== Infinity) release(key, other);
  }
}

function release(key: string, entry: Held): void {
  if (held.get(key) !== entry) return;
  held.delete(key);
  heldBytes -= entry.bytes;
}

/** What a shared cache may keep it for: s-maxage, else max-age, else nothing. */
function lifetimeSeconds(snapshot: MediaSnapshot): number {
  const cacheControl = snapshot.headers["Cache-Control"] ?? "";
  const seconds = /\bs-maxage=(\d+)/.exec(cacheControl)?.[1] ?? /\bmax-age=(\d+)/.exec(cacheControl)?.[1];
  return seconds ? Number(seconds) : 0;
}
