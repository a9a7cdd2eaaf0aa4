import { snapshotToResponse, type MediaSnapshot } from "./snapshot";

/** Only waitUntil is needed; Hono's and workers-types' ExecutionContext types differ elsewhere. */
type BackgroundTasks = Pick<ExecutionContext, "waitUntil">;

/**
 * Reads that are under way in this isolate, by cache key. A popular segment that is not cached yet is
 * requested by every viewer at once; they all wait on the first request's storage read instead of each
 * starting its own. An entry stays until the result is in the edge cache (or known uncacheable), so a
 * request arriving between "read finished" and "cache.put finished" does not read storage again either.
 */
const inFlight = new Map<string, Promise<MediaSnapshot>>();

/**
 * The full (200 or 404) response for `cacheKey`: from caches.default, else from `load`, shared with
 * every concurrent caller for the same key. `cacheKey` must be a plain GET without Range or conditional
 * headers, so the cache always holds whole objects (cache.put refuses 206).
 */
export async function fetchThroughEdgeCache(
  cacheKey: Request,
  load: () => Promise<MediaSnapshot>,
  ctx: BackgroundTasks,
): Promise<Response> {
  const joined = inFlight.get(cacheKey.url);
  if (joined) return snapshotToResponse(await joined);

  const cache = caches.default;
  const hit = await cache.match(cacheKey);
  if (hit) return hit;

  // Another request may have started the read while this one was looking in the cache.
  const pending = inFlight.get(cacheKey.url) ?? startLoad(cacheKey, load, cache, ctx);
  return snapshotToResponse(await pending);
}

function startLoad(
  cacheKey: Request,
  load: () => Promise<MediaSnapshot>,
  cache: Cache,
  ctx: BackgroundTasks,
): Promise<MediaSnapshot> {
  const forget = () => inFlight.delete(cacheKey.url);
  const pending = load();
  inFlight.set(cacheKey.url, pending);
  pending.then(
    (snapshot) => {
      if (!snapshot.cacheable) return forget();
      ctx.waitUntil(
        cache
          .put(cacheKey, snapshotToResponse(snapshot))
          .catch((err: unknown) => console.error("cache.put failed", cacheKey.url, err))
          .finally(forget),
      );
    },
    forget,
  );
  return pending;
}
