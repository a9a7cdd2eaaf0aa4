import { cacheControlFor, ERROR_CACHE_CONTROL, NOT_FOUND_CACHE_CONTROL, type CachePolicyInput } from "../shared/cache-policy";
import { CONTENT_TYPES, type MediaObject } from "../shared/layout";
import { mediaCounters } from "./metrics";
import { playlistListing } from "./playlist-listing";
import type { MediaSnapshot } from "./snapshot";

const JSON_TYPE = "application/json; charset=UTF-8";

/**
 * How long one read may take. Every viewer asking for the key meanwhile waits on this read (request
 * collapsing), so a read that hangs must end as a failure they can retry, not hold them all.
 */
export const R2_READ_TIMEOUT_MS = 10_000;

/** Reads one media object from R2 into memory. Never throws: a storage failure becomes an uncacheable 503. */
export async function readMediaObject(bucket: R2Bucket, object: MediaObject, timeoutMs = R2_READ_TIMEOUT_MS): Promise<MediaSnapshot> {
  let stored: R2ObjectBody | null;
  let bytes: ArrayBuffer;
  mediaCounters.r2Reads += 1;
  mediaCounters.r2ReadsByKind[object.kind] += 1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from R2 within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    stored = await Promise.race([bucket.get(object.key), timedOut]);
    if (!stored) return notFound(object);
    bytes = await Promise.race([stored.arrayBuffer(), timedOut]);
  } catch (err) {
    console.error("R2 read failed", object.key, err);
    return {
      status: 503,
      headers: { "Content-Type": JSON_TYPE, "Cache-Control": ERROR_CACHE_CONTROL, "Retry-After": "1" },
      body: JSON.stringify({ error: "media storage is unavailable; retry in a second" }),
      cacheable: false,
    };
  } finally {
    clearTimeout(timer);
  }
  return {
    status: 200,
    headers: {
      "Content-Type": CONTENT_TYPES[object.kind],
      "Cache-Control": cacheControlFor(policyInput(object, bytes)),
      ETag: stored.httpEtag,
      "Last-Modified": stored.uploaded.toUTCString(),
      // Stated, not left to the runtime, so that HEAD answers carry the size a GET would send.
      "Content-Length": String(bytes.byteLength),
      "Accept-Ranges": "bytes",
    },
    body: bytes,
    cacheable: true,
  };
}

function notFound(object: MediaObject): MediaSnapshot {
  return {
    status: 404,
    headers: { "Content-Type": JSON_TYPE, "Cache-Control": NOT_FOUND_CACHE_CONTROL },
    // Segments are requested as soon as a playlist lists them; a miss usually means "not written yet".
    body: JSON.stringify({ error: `${object.key} does not exist (yet); retry after the next playlist refresh` }),
    cacheable: true,
  };
}

/** A media playlist's lifetime depends on its content: finished (ENDLIST) or still growing, and at what pace. */
function policyInput(object: MediaObject, bytes: ArrayBuffer): CachePolicyInput {
  if (object.kind !== "media-playlist") return { kind: object.kind };
  const { ended, targetDurationSeconds } = playlistListing(new TextDecoder().decode(bytes));
  return { kind: object.kind, ended, ...(targetDurationSeconds ? { targetDurationSeconds } : {}) };
}
