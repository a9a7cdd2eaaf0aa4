import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { readMediaObject } from "../../workers/media/origin";
import { countingBucket, env, ORIGIN, registeredStreamId, type CountingBucket } from "./helpers";

const SEGMENT = Uint8Array.from({ length: 4096 }, (_, i) => i % 251);

/** Calls the Worker directly with a counted bucket in place of MEDIA, waiting for its background cache writes. */
async function fetchWith(media: CountingBucket, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${ORIGIN}${path}`, init), { ...env, MEDIA: media.bucket }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function seedSegment(): Promise<string> {
  const key = `live/${await registeredStreamId()}/sess000001/720p/seg-00001.m4s`;
  await env.MEDIA.put(key, SEGMENT);
  return `/${key}`;
}

describe("media through the edge cache", () => {
  it("collapses concurrent misses for one key into a single R2 read", async () => {
    const path = await seedSegment();
    // Each read is held open long enough that, without collapsing, every request would start its own.
    const media = countingBucket({ delayMs: 100 });
    const responses = await Promise.all(Array.from({ length: 20 }, () => fetchWith(media, path)));
    expect(media.reads()).toBe(1);
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(SEGMENT);
    }
  });

  it("collapses per key: two keys, two reads", async () => {
    const [a, b] = await Promise.all([seedSegment(), seedSegment()]);
    const media = countingBucket({ delayMs: 20 });
    await Promise.all([fetchWith(media, a), fetchWith(media, b), fetchWith(media, a), fetchWith(media, b)]);
    expect(media.reads()).toBe(2);
  });

  it("serves later requests from the isolate's memory or caches.default without touching R2", async () => {
    const path = await seedSegment();
    const media = countingBucket();
    expect((await fetchWith(media, path)).status).toBe(200);
    // Gone from storage: only the cache can still answer.
    await env.MEDIA.delete(path.slice(1));
    const again = await fetchWith(media, path, { headers: { Range: "bytes=100-199" } });
    expect(media.reads()).toBe(1);
    expect(again.status).toBe(206);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(SEGMENT.slice(100, 200));
  });

  it("holds a live playlist no longer than its 1 s lifetime", async () => {
    const key = `live/${await registeredStreamId()}/sess000001/720p/index.m3u8`;
    const playlist = (n: number) => `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg-0000${n}.m4s\n`;
    const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());
    const media = countingBucket();
    await env.MEDIA.put(key, playlist(1));
    expect(await text(await fetchWith(media, `/${key}`))).toBe(playlist(1));
    await env.MEDIA.put(key, playlist(2));
    expect(await text(await fetchWith(media, `/${key}`))).toBe(playlist(1));
    await scheduler.wait(1_100);
    expect(await text(await fetchWith(media, `/${key}`))).toBe(playlist(2));
    expect(media.reads()).toBe(2);
  });

  it("keeps at most 32 MiB in memory, dropping the oldest first", async () => {
    const id = await registeredStreamId();
    const paths = Array.from({ length: 40 }, (_, i) => `/live/${id}/sess000001/720p/seg-${String(i + 1).padStart(5, "0")}.m4s`);
    const mib = new Uint8Array(1024 * 1024);
    await Promise.all(paths.map((path) => env.MEDIA.put(path.slice(1), mib)));
    const media = countingBucket();
    for (const path of paths) await (await fetchWith(media, path)).arrayBuffer();
    expect(media.reads()).toBe(40);
    // caches.default still has both: take them out to see what memory kept.
    await caches.default.delete(new Request(`${ORIGIN}${paths[0]}`));
    await caches.default.delete(new Request(`${ORIGIN}${paths[39]}`));
    await (await fetchWith(media, paths[39]!)).arrayBuffer();
    expect(media.reads()).toBe(40);
    await (await fetchWith(media, paths[0]!)).arrayBuffer();
    expect(media.reads()).toBe(41);
  });

  it("caches a 404 for a second, then reads storage again", async () => {
    const key = `live/${await registeredStreamId()}/sess000001/720p/seg-00002.m4s`;
    const media = countingBucket();
    expect((await fetchWith(media, `/${key}`)).status).toBe(404);
    await env.MEDIA.put(key, SEGMENT);
    expect((await fetchWith(media, `/${key}`)).status).toBe(404);
    expect(media.reads()).toBe(1);
    await scheduler.wait(2_100);
    expect((await fetchWith(media, `/${key}`)).status).toBe(200);
    expect(media.reads()).toBe(2);
  });

  it("answers an R2 failure with an uncached 503 and recovers on the next request", async () => {
    const path = await seedSegment();
    const down = countingBucket({ failing: true });
    const failed = await fetchWith(down, path);
    expect(failed.status).toBe(503);
    expect(failed.headers.get("Cache-Control")).toBe("no-store");
    expect(failed.headers.get("Retry-After")).toBe("1");
    expect(await failed.json()).toEqual({ error: "media storage is unavailable; retry in a second" });

    const up = countingBucket();
    const recovered = await fetchWith(up, path);
    expect(recovered.status).toBe(200);
    expect(up.reads()).toBe(1);
  });

  it("ends an R2 read that hangs as an uncached 503, so the viewers collapsed on it can retry", async () => {
    const object = { key: "live/abcdefghijkl/sess000001/720p/seg-00001.m4s", kind: "media-segment", streamId: "abcdefghijkl" } as const;
    const hangs = new Promise<never>(() => {});
    const silentGet = { get: () => hangs } as unknown as R2Bucket;
    const silentBody = { get: async () => ({ arrayBuffer: () => hangs }) } as unknown as R2Bucket;
    for (const bucket of [silentGet, silentBody]) {
      const snapshot = await readMediaObject(bucket, object, 50);
      expect(snapshot).toMatchObject({ status: 503, cacheable: false });
      expect(snapshot.headers["Cache-Control"]).toBe("no-store");
    }
  });

  it("never reads R2 for a refused path", async () => {
    const media = countingBucket();
    for (const path of ["/live/abcdefghijkl%2Fmaster.m3u8", "/live/abcdefghijkl/master.txt", `/live/${"a".repeat(300)}`]) {
      expect((await fetchWith(media, path)).status).toBe(400);
    }
    expect(media.reads()).toBe(0);
  });
});
