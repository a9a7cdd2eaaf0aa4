import { env, exports } from "cloudflare:workers";
import { registryStub } from "../../workers/env";

export const ORIGIN = "https://onair.test";
export const ADMIN_TOKEN = "test-admin-token";
export const INGEST_SECRET = "test-ingest-secret";

export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
}

export function postJson(path: string, body: unknown, token?: string | null): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

export interface CreatedStreamBody {
  id: string;
  streamKey: string;
  rtmpUrl: string;
  hlsUrl: string;
  watchUrl: string;
  title: string;
  status: string;
}

export async function createStream(title = "Test stream"): Promise<CreatedStreamBody> {
  const res = await postJson("/api/streams", { title }, ADMIN_TOKEN);
  if (res.status !== 201) throw new Error(`create stream: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A stream id nobody created, so each test gets its own media keys and cache entries. */
export function freshStreamId(): string {
  return crypto.randomUUID().replace(/-/g, "").slice(0, 12);
}

/** A stream the registry knows (media of unknown streams is not served), with media keys no other test uses. */
export async function registeredStreamId(signedPlayback = false): Promise<string> {
  return (await registryStub(env).createStream("Media test", signedPlayback)).record.id;
}

export { env };

export interface CountingBucket {
  bucket: R2Bucket;
  reads: () => number;
}

/**
 * Wraps the test R2 bucket to count reads. `delayMs` holds every read open, so that concurrent requests
 * really overlap; `failing` makes every read throw like an R2 outage.
 */
export function countingBucket({ delayMs = 0, failing = false } = {}): CountingBucket {
  let reads = 0;
  const bucket = {
    async get(key: string) {
      reads += 1;
      if (delayMs) await scheduler.wait(delayMs);
      if (failing) throw new Error("simulated R2 outage");
      return env.MEDIA.get(key);
    },
  } as unknown as R2Bucket;
  return { bucket, reads: () => reads };
}
