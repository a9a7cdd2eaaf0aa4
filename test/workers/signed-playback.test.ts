import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { signPlaybackToken } from "../../workers/media/playback-token";
import { moderatorToken } from "../../workers/middleware/stream-owner";
import { ADMIN_TOKEN, call, countingBucket, env, ORIGIN, postJson, registeredStreamId } from "./helpers";

const SEGMENT = Uint8Array.from({ length: 256 }, (_, i) => i);
const MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nsess000001/720p/index.m3u8\n";
const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init-1.mp4"\n#EXTINF:2.0,\nseg-00001.m4s\n';
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function seed(id: string) {
  const base = `live/${id}/sess000001/720p`;
  const paths = { master: `/live/${id}/master.m3u8`, playlist: `/${base}/index.m3u8`, init: `/${base}/init-1.mp4`, segment: `/${base}/seg-00001.m4s` };
  await Promise.all([
    env.MEDIA.put(paths.master.slice(1), MASTER),
    env.MEDIA.put(paths.playlist.slice(1), PLAYLIST),
    env.MEDIA.put(paths.init.slice(1), new Uint8Array([0, 0, 0, 8])),
    env.MEDIA.put(paths.segment.slice(1), SEGMENT),
  ]);
  return paths;
}

async function signedStream() {
  const id = await registeredStreamId(true);
  return { id, paths: await seed(id) };
}

async function mint(id: string, body: unknown = { ttlSeconds: 600 }) {
  const res = await postJson(`/api/streams/${id}/playback-tokens`, body, ADMIN_TOKEN);
  return { res, body: await res.json<{ token: string; expiresAt: string; hlsUrl: string; error?: string }>() };
}

const get = (path: string, headers?: HeadersInit) => call(path, { headers });
// workerd warns about .text() on an application/vnd.apple.mpegurl body.
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

describe("signed playback: the API", () => {
  it("creates a stream with signed playback and says so in the public view", async () => {
    const res = await postJson("/api/streams", { title: "Members only", signedPlayback: true }, ADMIN_TOKEN);
    expect(res.status).toBe(201);
    const { id, signedPlayback } = await res.json<{ id: string; signedPlayback: boolean }>();
    expect(signedPlayback).toBe(true);
    expect(await (await call(`/api/streams/${id}`)).json()).toMatchObject({ id, signedPlayback: true });
  });

  it("lets the stream's owner mint tokens for that stream and no other", async () => {
    const [{ id }, { id: other }] = await Promise.all([signedStream(), signedStream()]);
    const owner = await moderatorToken(ADMIN_TOKEN, id);
    const own = await postJson(`/api/streams/${id}/playback-tokens`, { ttlSeconds: 600 }, owner);
    expect(own.status).toBe(200);
    const { hlsUrl } = await own.json<{ hlsUrl: string }>();
    expect((await get(new URL(hlsUrl).pathname + new URL(hlsUrl).search)).status).toBe(200);
    expect((await postJson(`/api/streams/${other}/playback-tokens`, { ttlSeconds: 600 }, owner)).status).toBe(401);
  });

  it("mints a token whose hlsUrl plays, for the admin or owner only", async () => {
    const { id } = await signedStream();
    expect((await postJson(`/api/streams/${id}/playback-tokens`, { ttlSeconds: 600 })).status).toBe(401);

    const before = Math.floor(Date.now() / 1000);
    const { res, body } = await mint(id, { ttlSeconds: 600 });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(body.token).toMatch(/^\d+\.\.[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt) / 1000).toBeGreaterThanOrEqual(before + 600);
    expect(body.hlsUrl).toBe(`${ORIGIN}/live/${id}/master.m3u8?token=${body.token}`);
    expect((await call(body.hlsUrl.slice(ORIGIN.length))).status).toBe(200);
  });

  it.each([
    [{ ttlSeconds: 5 }, /^invalid body: ttlSeconds: /],
    [{ ttlSeconds: 604_801 }, "invalid body: ttlSeconds: must be at most 604800 (7 days)"],
    [{ ttlSeconds: 60.5 }, /^invalid body: ttlSeconds: /],
    [{}, /^invalid body: ttlSeconds: /],
    [{ ttlSeconds: 60, viewerPrefix: "203.0.113.0/33" }, "invalid body: viewerPrefix: must be an address or prefix like 203.0.113.0/24 or 2001:db8::/48"],
  ])("refuses to mint with %j", async (body, error) => {
    const { res, body: answer } = await mint(await registeredStreamId(true), body);
    expect(res.status).toBe(400);
    expect(answer.error).toEqual(typeof error === "string" ? error : expect.stringMatching(error));
  });

  it("answers 404 for tokens of an unknown or revoked stream", async () => {
    expect((await mint("zzzzzzzzzzzz")).res.status).toBe(404);
    const id = await registeredStreamId(true);
    await call(`/api/streams/${id}`, { method: "DELETE", headers: admin });
    expect((await mint(id)).res.status).toBe(404);
  });

  it("switches signed playback with PATCH (admin only), effective at once in this isolate", async () => {
    const id = await registeredStreamId(false);
    const { segment } = await seed(id);
    const patch = (body: unknown, headers: Record<string, string> = admin) =>
      call(`/api/streams/${id}`, { method: "PATCH", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    expect((await get(segment)).status).toBe(200);

    expect((await patch({ signedPlayback: true }, {})).status).toBe(401);
    expect((await patch({ signedPlayback: "yes" })).status).toBe(400);
    expect((await patch({ signedPlayback: true, title: "renamed" })).status).toBe(400);
    expect((await call("/api/streams/zzzzzzzzzzzz", { method: "PATCH", headers: { ...admin, "Content-Type": "application/json" }, body: '{"signedPlayback":true}' })).status).toBe(404);

    const on = await patch({ signedPlayback: true });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ id, signedPlayback: true, revoked: false });
    expect((await get(segment)).status).toBe(403);

    expect((await patch({ signedPlayback: false })).status).toBe(200);
    expect((await get(segment)).status).toBe(200);
  });
});

describe("signed playback: media", () => {
  it.each(["master", "playlist", "init", "segment"] as const)("refuses the %s without a token: 403, JSON, never cached", async (kind) => {
    const { id, paths } = await signedStream();
    const res = await get(paths[kind]);
    expect(res.status).toBe(403);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await res.json()).toEqual({
      error: `stream ${id} requires a signed playback token: add ?token=<token> or send the onair_playback cookie`,
    });
  });

  it("plays with a token: every URI carries it, and every answer is private (Workers Cache must not store it)", async () => {
    const { id } = await signedStream();
    const { body } = await mint(id);
    const master = await call(body.hlsUrl.slice(ORIGIN.length));
    expect(master.status).toBe(200);
    expect(master.headers.get("Cache-Control")).toBe("private, max-age=2");
    expect(await text(master)).toBe(`#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nsess000001/720p/index.m3u8?token=${body.token}\n`);

    const playlist = await get(`/live/${id}/sess000001/720p/index.m3u8?token=${body.token}`);
    expect(playlist.headers.get("Cache-Control")).toBe("private, max-age=1");
    const rewritten = await text(playlist);
    expect(rewritten).toBe(PLAYLIST.replace('"init-1.mp4"', `"init-1.mp4?token=${body.token}"`).replace("seg-00001.m4s", `seg-00001.m4s?token=${body.token}`));
    expect(playlist.headers.get("Content-Length")).toBe(String(new TextEncoder().encode(rewritten).byteLength));

    for (const [file, cacheControl] of [["init-1.mp4", "private, max-age=31536000, immutable"], ["seg-00001.m4s", "private, max-age=31536000, immutable"]]) {
      const res = await get(`/live/${id}/sess000001/720p/${file}?token=${body.token}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe(cacheControl);
      await res.arrayBuffer();
    }
  });

  it("accepts the token from the onair_playback cookie", async () => {
    const { id, paths } = await signedStream();
    const { body } = await mint(id);
    const res = await get(paths.segment, { Cookie: `theme=dark; onair_playback=${body.token}` });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(SEGMENT);
  });

  it("refuses an expired token, saying when it expired", async () => {
    const { id, paths } = await signedStream();
    const expired = await signPlaybackToken(env.PLAYBACK_SIGNING_KEY!, { streamId: id, expiresAt: 1_700_000_000 });
    const res = await get(`${paths.segment}?token=${expired}`);
    expect(res.status).toBe(403);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await res.json()).toEqual({ error: "playback token expired at 2023-11-14T22:13:20.000Z; get a new one from the site you are watching on" });
  });

  it.each([
    ["another stream's token", async () => (await mint(await registeredStreamId(true))).body.token],
    ["a token signed with another key", () => signPlaybackToken("not-the-key", { streamId: "x", expiresAt: 4_000_000_000 })],
    ["garbage", async () => "not-a-token"],
  ])("refuses %s as not valid for this stream", async (_, token) => {
    const { id, paths } = await signedStream();
    const res = await get(`${paths.master}?token=${await token()}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: `playback token is not valid for stream ${id}` });
  });

  it("checks a token bound to a viewer prefix against CF-Connecting-IP", async () => {
    const { id, paths } = await signedStream();
    const { body } = await mint(id, { ttlSeconds: 60, viewerPrefix: "198.51.100.0/24" });
    const at = (ip?: string) => get(`${paths.segment}?token=${body.token}`, ip ? { "CF-Connecting-IP": ip } : {});
    expect((await at("198.51.100.7")).status).toBe(200);
    for (const ip of ["203.0.113.1", "2001:db8::1", undefined]) {
      const res = await at(ip);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "playback token is bound to another network address; get a new one from the site you are watching on" });
    }
  });

  it("gives a rewritten playlist an ETag per token: 304 for the same token, the new body for a new one", async () => {
    const { id, paths } = await signedStream();
    const [a, b] = await Promise.all([mint(id), mint(id, { ttlSeconds: 900 })]);
    const first = await get(`${paths.playlist}?token=${a.body.token}`);
    const etag = first.headers.get("ETag")!;
    expect((await get(`${paths.playlist}?token=${a.body.token}`, { "If-None-Match": etag })).status).toBe(304);
    const renewed = await get(`${paths.playlist}?token=${b.body.token}`, { "If-None-Match": etag });
    expect(renewed.status).toBe(200);
    expect(await text(renewed)).toContain(`seg-00001.m4s?token=${b.body.token}`);
  });

  it("shares one R2 read among viewers with different tokens (the cache key has no token)", async () => {
    const { id, paths } = await signedStream();
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) => mint(id, { ttlSeconds: 60 + i }).then((m) => m.body.token)));
    const media = countingBucket({ delayMs: 50 });
    const responses = await Promise.all(
      tokens.map(async (token) => {
        const ctx = createExecutionContext();
        const res = await worker.fetch(new Request(`${ORIGIN}${paths.segment}?token=${token}`), { ...env, MEDIA: media.bucket }, ctx);
        await waitOnExecutionContext(ctx);
        return res;
      }),
    );
    expect(responses.map((r) => r.status)).toEqual(tokens.map(() => 200));
    expect(media.reads()).toBe(1);
  });

  it("fails closed with a 500 when the signing key is not configured", async () => {
    const { paths } = await signedStream();
    const res = await worker.fetch(new Request(`${ORIGIN}${paths.segment}?token=x`), { ...env, PLAYBACK_SIGNING_KEY: undefined }, createExecutionContext());
    expect(res.status).toBe(500);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect((await res.json<{ error: string }>()).error).toContain("PLAYBACK_SIGNING_KEY is not configured");
  });
});

describe("media of streams that are not signed, unknown or revoked", () => {
  it("serves a stream without signed playback publicly, whatever token comes along", async () => {
    const id = await registeredStreamId(false);
    const { master } = await seed(id);
    const res = await get(`${master}?token=garbage`, { Cookie: "onair_playback=garbage" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=2, s-maxage=2, stale-if-error=0");
    expect(await text(res)).toBe(MASTER);
  });

  it("answers 404 for media of a stream the registry does not know, or revoked", async () => {
    const unknown = "q1w2e3r4t5y6";
    const { segment } = await seed(unknown);
    const res = await get(segment);
    expect(res.status).toBe(404);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=1, s-maxage=1");
    expect(await res.json()).toEqual({ error: `no stream ${unknown}; check the id in your watch URL` });

    const id = await registeredStreamId(false);
    const paths = await seed(id);
    expect((await get(paths.segment)).status).toBe(200);
    await call(`/api/streams/${id}`, { method: "DELETE", headers: admin });
    expect((await get(paths.segment)).status).toBe(404);
  });
});
