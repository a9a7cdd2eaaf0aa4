import { registryStub, type Env } from "../env";
import { mediaCounters } from "./metrics";

/**
 * Who may read a stream's media: anyone, only token holders, or nobody (no such stream, or revoked).
 *
 * The answer lives in the one registry object, and a popular stream's viewers send hundreds of media
 * requests a second per isolate: asking the registry each time would put every viewer request on one
 * object's queue. So each isolate keeps the answer for a few seconds and concurrent lookups share one
 * call. Cost: at most one registry call per stream per isolate every ACCESS_TTL_MS, and a change
 * (signed playback switched on, a revoke) reaches other isolates within that time; this isolate forgets
 * at once (forgetStreamAccess).
 */
export type StreamAccess = "public" | "signed" | "unknown";

const ACCESS_TTL_MS = 5_000;
/** Bounds memory; only streams that have media in storage are ever looked up (see routes/media.ts). */
const MAX_ENTRIES = 10_000;

const remembered = new Map<string, { access: Promise<StreamAccess>; expiresAt: number }>();

export function streamAccess(env: Env, streamId: string): Promise<StreamAccess> {
  const now = Date.now();
  const entry = remembered.get(streamId);
  if (entry && entry.expiresAt > now) return entry.access;
  if (remembered.size >= MAX_ENTRIES) remembered.delete(remembered.keys().next().value!);
  const access = lookUp(env, streamId);
  remembered.set(streamId, { access, expiresAt: now + ACCESS_TTL_MS });
  // A failed lookup is not remembered: the next request asks again.
  access.catch(() => {
    if (remembered.get(streamId)?.access === access) remembered.delete(streamId);
  });
  return access;
}

export function forgetStreamAccess(streamId: string): void {
  remembered.delete(streamId);
}

async function lookUp(env: Env, streamId: string): Promise<StreamAccess> {
  mediaCounters.registryLookups += 1;
  const record = await registryStub(env).getStream(streamId);
  if (!record || record.revoked) return "unknown";
  return record.signedPlayback ? "signed" : "public";
}
