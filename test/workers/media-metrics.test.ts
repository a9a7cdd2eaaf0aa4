import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { ADMIN_TOKEN, call, countingBucket, env, INGEST_SECRET, ORIGIN, registeredStreamId } from "./helpers";

interface Metrics {
  isolate: string;
  r2Reads: number;
  r2ReadsByKind: Record<string, number>;
  memoryHits: number;
  cacheHits: number;
  collapsedRequests: number;
  registryLookups: number;
}

const metrics = async () => (await call("/internal/metrics", { headers: { Authorization: `Bearer ${INGEST_SECRET}` } })).json<Metrics>();

async function seedSegment(): Promise<string> {
  const key = `live/${await registeredStreamId()}/sess000001/720p/seg-00001.m4s`;
  await env.MEDIA.put(key, new Uint8Array(64));
  return `/${key}`;
}

describe("GET /internal/metrics", () => {
  it("is for the INGEST_SECRET holder only", async () => {
    for (const token of [undefined, ADMIN_TOKEN]) {
      const res = await call("/internal/metrics", token ? { headers: { Authorization: `Bearer ${token}` } } : {});
      expect(res.status).toBe(401);
    }
  });

  it("counts R2 reads by kind, answers from memory and registry lookups of this isolate", async () => {
    const path = await seedSegment();
    const before = await metrics();
    await (await call(path)).arrayBuffer();
    await (await call(path)).arrayBuffer();
    const after = await metrics();
    expect(after.isolate).toBe(before.isolate);
    expect(after.r2Reads - before.r2Reads).toBe(1);
    expect(after.r2ReadsByKind["media-segment"]! - before.r2ReadsByKind["media-segment"]!).toBe(1);
    expect(after.memoryHits - before.memoryHits).toBe(1);
    // The stream's access was looked up once and remembered for the second request.
    expect(after.registryLookups - before.registryLookups).toBe(1);
  });
});

describe("caches.default", () => {
  it("answers what another isolate stored there without reading R2", async () => {
    const path = await seedSegment();
    await caches.default.put(new Request(`${ORIGIN}${path}`), new Response("from the data centre's cache", { headers: { "Cache-Control": "public, max-age=60" } }));
    const media = countingBucket();
    const before = await metrics();
    const res = await worker.fetch(new Request(`${ORIGIN}${path}?token=ignored`), { ...env, MEDIA: media.bucket }, createExecutionContext());
    expect(await res.text()).toBe("from the data centre's cache");
    expect(media.reads()).toBe(0);
    expect((await metrics()).cacheHits - before.cacheHits).toBe(1);
  });
});

describe("EDGE_CACHE=off (the benchmark's baseline)", () => {
  it("reads R2 for every request, concurrent or not", async () => {
    const path = await seedSegment();
    const media = countingBucket({ delayMs: 20 });
    const fetchUncached = async () => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`${ORIGIN}${path}`), { ...env, MEDIA: media.bucket, EDGE_CACHE: "off" }, ctx);
      await waitOnExecutionContext(ctx);
      return res.status;
    };
    expect(await fetchUncached()).toBe(200);
    expect(await fetchUncached()).toBe(200);
    expect(await Promise.all([fetchUncached(), fetchUncached(), fetchUncached()])).toEqual([200, 200, 200]);
    expect(media.reads()).toBe(5);
  });
});
