import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../workers/env";
import worker from "../../workers/index";
import { readOnlyCors } from "../../workers/middleware/cors";
import { env, ORIGIN, registeredStreamId } from "./helpers";

/**
 * The cheap cached-hit path (bench:edge): answers from the in-isolate hold are built from a Blob and one
 * Headers object, and readOnlyCors() sets its headers on the handler's Response instead of going through
 * hono's cors(). Both must answer exactly what they answered before.
 */

const SEGMENT = Uint8Array.from({ length: 64 * 1024 + 3 }, (_, i) => (i * 7) % 256);
const PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.000,\nseg-00001.m4s\n";

async function fetchWorker(path: string, init?: RequestInit, edgeCache = "on"): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${ORIGIN}${path}`, init), { ...env, EDGE_CACHE: edgeCache }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function answer(res: Response) {
  return { status: res.status, headers: [...res.headers], body: new Uint8Array(await res.arrayBuffer()) };
}

describe("answers from the in-isolate hold", () => {
  it("are the uncached answer, byte for byte, every time (segment and playlist)", async () => {
    const base = `live/${await registeredStreamId()}/sess000001/720p`;
    await env.MEDIA.put(`${base}/seg-00001.m4s`, SEGMENT);
    await env.MEDIA.put(`${base}/index.m3u8`, PLAYLIST);
    for (const path of [`/${base}/seg-00001.m4s`, `/${base}/index.m3u8`]) {
      const uncached = await answer(await fetchWorker(path, undefined, "off"));
      expect(uncached.status).toBe(200);
      // The first answer (the read), then memory hits, concurrent ones too.
      const first = await answer(await fetchWorker(path));
      const hits = await Promise.all(Array.from({ length: 5 }, async () => answer(await fetchWorker(path))));
      for (const cached of [first, ...hits]) expect(cached).toEqual(uncached);
    }
  });

  it("still answer ranges, revalidations and HEAD as before", async () => {
    const path = `/live/${await registeredStreamId()}/sess000001/720p/seg-00001.m4s`;
    await env.MEDIA.put(path.slice(1), SEGMENT);
    const full = await fetchWorker(path);
    const etag = full.headers.get("ETag")!;
    await full.arrayBuffer();
    for (const edgeCache of ["off", "on", "on"]) {
      const range = await fetchWorker(path, { headers: { Range: "bytes=10-19" } }, edgeCache);
      expect(range.status).toBe(206);
      expect(range.headers.get("Content-Range")).toBe(`bytes 10-19/${SEGMENT.byteLength}`);
      expect(new Uint8Array(await range.arrayBuffer())).toEqual(SEGMENT.slice(10, 20));
      const stale = await fetchWorker(path, { headers: { Range: "bytes=10-19", "If-Range": '"other"' } }, edgeCache);
      expect(stale.status).toBe(200);
      expect((await stale.arrayBuffer()).byteLength).toBe(SEGMENT.byteLength);
      const current = await fetchWorker(path, { headers: { "If-None-Match": `W/${etag}` } }, edgeCache);
      expect(current.status).toBe(304);
      expect([...current.headers].map(([name]) => name).sort()).toEqual(
        ["access-control-allow-origin", "access-control-expose-headers", "cache-control", "etag", "last-modified"],
      );
      const head = await fetchWorker(path, { method: "HEAD" }, edgeCache);
      expect(head.status).toBe(200);
      expect(head.headers.get("Content-Length")).toBe(String(SEGMENT.byteLength));
    }
  });
});

describe("readOnlyCors() against hono's cors() with the same options", () => {
  const options = (allowed: string) => ({
    origin: allowed === "*" ? "*" : allowed.split(",").map((o) => o.trim()),
    allowMethods: ["GET", "HEAD", "OPTIONS"],
    allowHeaders: ["Range", "If-None-Match", "If-Range"],
    exposeHeaders: ["Content-Length", "Content-Range", "ETag"],
    maxAge: 86_400,
  });

  /** One app per middleware, with handlers answering in each way the routes do. */
  function app(middleware: "ours" | "hono", allowed: string) {
    const app = new Hono<AppEnv>();
    app.use("*", middleware === "ours" ? readOnlyCors() : cors(options(allowed)));
    app.get("/raw", () => new Response("raw", { headers: { "Cache-Control": "public, max-age=1", ETag: '"e"' } }));
    app.get("/json", (c) => c.json({ error: "nope" }, 404, { "Cache-Control": "no-store", "Retry-After": "1" }));
    app.get("/text", (c) => c.text("now"));
    app.get("/vary", () => new Response("v", { headers: { Vary: "Accept-Encoding" } }));
    app.get("/cached", async () => {
      const key = `${ORIGIN}/cors-immutable-${middleware}-${allowed}`;
      await caches.default.put(key, new Response("from cache", { headers: { "Cache-Control": "public, max-age=60" } }));
      return (await caches.default.match(key))!;
    });
    app.get("/throws", () => {
      throw new Error("handler failed");
    });
    app.onError((_, c) => c.json({ error: "internal" }, 500, { "Cache-Control": "no-store" }));
    return app;
  }

  const configs = ["*", "https://a.example, https://b.example"];
  const origins = [undefined, "https://a.example", "https://evil.example"];
  const paths = ["/raw", "/json", "/text", "/vary", "/cached", "/throws"];

  for (const allowed of configs) {
    it(`sets the same headers (ALLOWED_ORIGINS=${allowed})`, async () => {
      const bindings = { ...env, ALLOWED_ORIGINS: allowed };
      for (const path of paths) {
        for (const origin of origins) {
          for (const method of ["GET", "HEAD", "OPTIONS"]) {
            const headers: Record<string, string> = origin ? { Origin: origin } : {};
            if (method === "OPTIONS") headers["Access-Control-Request-Method"] = "GET";
            const ask = (which: "ours" | "hono") => app(which, allowed).fetch(new Request(`${ORIGIN}${path}`, { method, headers }), bindings);
            const [ours, theirs] = await Promise.all([ask("ours"), ask("hono")]);
            const what = `${method} ${path} from ${origin ?? "no origin"}`;
            expect({ what, status: ours.status, headers: [...ours.headers], body: await ours.text() }).toEqual({
              what,
              status: theirs.status,
              headers: [...theirs.headers],
              body: await theirs.text(),
            });
          }
        }
      }
    });
  }
});
