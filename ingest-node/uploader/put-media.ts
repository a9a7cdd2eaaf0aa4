import { cacheControlFor } from "../../workers/shared/cache-policy";
import { CONTENT_TYPES, type MediaKind } from "../../workers/shared/layout";
import type { ObjectStore } from "../storage/object-store";

/**
 * Stores one media object with the Content-Type and Cache-Control the edge serves it with: kept as object
 * metadata, so both sides follow the one policy (workers/shared/cache-policy.ts). Tried once: retrying
 * is the caller's choice, since most puts are superseded by a later one.
 */
export async function putMedia(store: ObjectStore, key: string, body: Uint8Array, kind: MediaKind, ended = false): Promise<void> {
  await store.put(key, body, { contentType: CONTENT_TYPES[kind], cacheControl: cacheControlFor({ kind, ended }) });
}
