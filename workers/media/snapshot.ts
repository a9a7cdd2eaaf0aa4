/**
 * A complete answer from storage, held in memory so that every request waiting on the same read can
 * build its own Response from it (a Response body can be read only once) and ranges can be sliced from it.
 */
export interface MediaSnapshot {
  /** 400: a blocking playlist reload asking too far ahead (blocking-reload.ts), never cacheable */
  status: 200 | 400 | 404 | 503;
  headers: Record<string, string>;
  body: ArrayBuffer | string;
  /** false for failures: they must reach neither the edge cache nor requests that arrive later */
  cacheable: boolean;
}

export function snapshotToResponse(snapshot: MediaSnapshot): Response {
  return new Response(snapshot.body, { status: snapshot.status, headers: snapshot.headers });
}

/**
 * A snapshot made ready to answer many requests (the in-memory hold, workers/media/edge-cache.ts): the
 * same status, headers and bytes, in the forms workerd builds a Response from most cheaply.
 * - The body as a Blob: a Response shares a Blob's bytes, while an ArrayBuffer (or string) body is copied
 *   (or encoded) again for every Response. For a 600 KiB segment that copy was most of a hit's cost.
 * - The headers as one Headers object: copied into each Response natively, not converted from a JS record.
 */
export interface ReadySnapshot {
  status: MediaSnapshot["status"];
  headers: Headers;
  body: Blob;
}

export function readySnapshot(snapshot: MediaSnapshot): ReadySnapshot {
  return { status: snapshot.status, headers: new Headers(snapshot.headers), body: new Blob([snapshot.body]) };
}

export function readyToResponse(ready: ReadySnapshot): Response {
  return new Response(ready.body, { status: ready.status, headers: ready.headers });
}
