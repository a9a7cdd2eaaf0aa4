import { describe, expect, it } from "vitest";
import { call, env, freshStreamId, registeredStreamId } from "./helpers";

const SEGMENT = Uint8Array.from({ length: 64 }, (_, i) => i);
const LIVE_PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg-00001.m4s\n";

/** Writes one object of each kind under a fresh stream id, so no test sees another's cache entries. */
async function seedStream() {
  const id = await registeredStreamId();
  const base = `live/${id}/sess000001/720p`;
  const keys = {
    master: `live/${id}/master.m3u8`,
    poster: `live/${id}/poster.jpg`,
    playlist: `${base}/index.m3u8`,
    init: `${base}/init-1.mp4`,
    segment: `${base}/seg-00001.m4s`,
  };
  await Promise.all([
    env.MEDIA.put(keys.master, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nsess000001/720p/index.m3u8\n"),
    env.MEDIA.put(keys.poster, new Uint8Array([0xff, 0xd8, 0xff])),
    env.MEDIA.put(keys.playlist, LIVE_PLAYLIST),
    env.MEDIA.put(keys.init, new Uint8Array([0, 0, 0, 8])),
    env.MEDIA.put(keys.segment, SEGMENT),
  ]);
  return { id, keys };
}

const get = (key: string, headers?: HeadersInit) => call(`/${key}`, { headers });

describe("media: types and cache policy", () => {
  it.each([
    ["master", "application/vnd.apple.mpegurl", "public, max-age=2, s-maxage=2, stale-if-error=0"],
    ["playlist", "application/vnd.apple.mpegurl", "public, max-age=1, s-maxage=1, stale-if-error=0"],
    ["init", "video/mp4", "public, max-age=31536000, immutable"],
    ["segment", "video/mp4", "public, max-age=31536000, immutable"],
    ["poster", "image/jpeg", "public, max-age=10, s-maxage=10"],
  ] as const)("serves the %s with its content type and exact Cache-Control", async (kind, contentType, cacheControl) => {
    const { keys } = await seedStream();
    const res = await get(keys[kind]);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe(contentType);
    expect(res.headers.get("Cache-Control")).toBe(cacheControl);
    const stored = await env.MEDIA.head(keys[kind]);
    expect(res.headers.get("ETag")).toBe(stored!.httpEtag);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(await (await env.MEDIA.get(keys[kind]))!.arrayBuffer()));
  });

  it("caches a finished (ENDLIST) media playlist for a day", async () => {
    const { keys } = await seedStream();
    await env.MEDIA.put(keys.playlist, `${LIVE_PLAYLIST}#EXT-X-ENDLIST\n`);
    const res = await get(keys.playlist);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=86400");
  });

  it("scales a live playlist's lifetime with its target duration", async () => {
    const { keys } = await seedStream();
    await env.MEDIA.put(keys.playlist, LIVE_PLAYLIST.replace("TARGETDURATION:2", "TARGETDURATION:6"));
    const res = await get(keys.playlist);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=3, s-maxage=3, stale-if-error=0");
  });

  it("answers a missing object with a 404 that expires in a second", async () => {
    const res = await get(`live/${freshStreamId()}/sess000001/720p/seg-00042.m4s`);
    expect(res.status).toBe(404);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=1, s-maxage=1");
    expect((await res.json<{ error: string }>()).error).toContain("seg-00042.m4s does not exist");
  });

  it("ignores the query string", async () => {
    const { keys } = await seedStream();
    const res = await call(`/${keys.segment}?cachebust=123`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(SEGMENT);
  });
});

describe("media: conditional, range and HEAD requests", () => {
  it("answers If-None-Match with the current ETag with an empty 304", async () => {
    const { keys } = await seedStream();
    const etag = (await get(keys.segment)).headers.get("ETag")!;
    for (const candidate of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await get(keys.segment, { "If-None-Match": candidate });
      expect(res.status).toBe(304);
      expect(res.headers.get("ETag")).toBe(etag);
      expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      expect(await res.text()).toBe("");
    }
    expect((await get(keys.segment, { "If-None-Match": '"stale"' })).status).toBe(200);
  });

  it.each([
    ["bytes=2-5", 2, 5],
    ["bytes=60-", 60, 63],
    ["bytes=-3", 61, 63],
    ["bytes=10-1000", 10, 63],
  ])("answers Range %s with a 206 of exactly those bytes", async (range, start, end) => {
    const { keys } = await seedStream();
    // Twice: once on the storage read, once from the edge cache.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const res = await get(keys.segment, { Range: range });
      expect(res.status).toBe(206);
      expect(res.headers.get("Content-Range")).toBe(`bytes ${start}-${end}/64`);
      expect(res.headers.get("Content-Length")).toBe(String(end - start + 1));
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(SEGMENT.slice(start, end + 1));
    }
  });

  it("answers a range past the end with 416 and the real size", async () => {
    const { keys } = await seedStream();
    const res = await get(keys.segment, { Range: "bytes=64-" });
    expect(res.status).toBe(416);
    expect(res.headers.get("Content-Range")).toBe("bytes */64");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("sends the whole object when If-Range names an older version", async () => {
    const { keys } = await seedStream();
    const res = await get(keys.segment, { Range: "bytes=0-1", "If-Range": '"older"' });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(64);
  });

  it("answers HEAD with the GET headers and no body", async () => {
    const { keys } = await seedStream();
    const res = await call(`/${keys.segment}`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("video/mp4");
    expect(res.headers.get("Content-Length")).toBe("64");
    expect(res.headers.get("ETag")).toMatch(/^"/);
    expect(await res.text()).toBe("");
  });
});

describe("media: what may be asked", () => {
  it.each([
    ["an encoded dot segment inside /live", "/live/%2e%2e/live/x"],
    ["an encoded slash", "/live/abcdefghijkl%2Fmaster.m3u8"],
    ["an encoded dot-dot within a segment name", "/live/abcdefghijkl/..%2fmaster.m3u8"],
    ["an overlong path", `/live/abcdefghijkl/${"a".repeat(300)}`],
    ["an unknown extension", "/live/abcdefghijkl/master.m3u"],
    ["a file outside the layout", "/live/abcdefghijkl/secrets.json"],
    ["a malformed stream id", "/live/ABC/master.m3u8"],
    ["too many segments", "/live/abcdefghijkl/sess000001/720p/x/index.m3u8"],
  ])("refuses %s with 400", async (_, path) => {
    const res = await call(path);
    expect(res.status).toBe(400);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect((await res.json<{ error: string }>()).error).toContain("media paths look like /live/<streamId>/master.m3u8");
  });

  it("never sees a literal ../ path: URL parsing resolves it before the Worker runs", async () => {
    const res = await call("/live/../wrangler.toml");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no route for GET /wrangler.toml" });
  });

  it.each(["POST", "PUT", "DELETE", "PATCH"])("answers %s with 405 and the allowed methods", async (method) => {
    const { keys } = await seedStream();
    const res = await call(`/${keys.segment}`, { method, body: method === "DELETE" ? undefined : "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET, HEAD, OPTIONS");
    expect(await env.MEDIA.head(keys.segment)).not.toBeNull();
  });
});

describe("media: CORS", () => {
  it("lets any origin read media and the headers a player needs", async () => {
    const { keys } = await seedStream();
    const res = await get(keys.segment, { Origin: "https://player.example", Range: "bytes=0-0" });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Access-Control-Expose-Headers")).toBe("Content-Length,Content-Range,ETag");
  });

  it("answers a preflight with 204", async () => {
    const { keys } = await seedStream();
    const res = await call(`/${keys.segment}`, {
      method: "OPTIONS",
      headers: { Origin: "https://player.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Access-Control-Allow-Methods")).toBe("GET,HEAD,OPTIONS");
    expect(res.headers.get("Access-Control-Allow-Headers")).toBe("Range,If-None-Match,If-Range");
  });
});
