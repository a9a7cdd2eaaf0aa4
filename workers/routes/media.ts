import { Hono, type Context } from "hono";
import { playlistGateStub, type AppEnv } from "../env";
import { blockingPlaylist, parseDeliveryDirectives } from "../media/blocking-reload";
import { answerRequest } from "../media/conditional";
import { fetchThroughEdgeCache } from "../media/edge-cache";
import { mediaMetrics } from "../media/metrics";
import { readMediaObject } from "../media/origin";
import { partialPlaylist } from "../media/partial-playlist";
import { hintedPart } from "../media/preload-hint";
import { presentedTokens, verifyPlaybackToken, TOKEN_COOKIE, type TokenRefusal } from "../media/playback-token";
import { signedMediaResponse } from "../media/signed-response";
import { snapshotToResponse } from "../media/snapshot";
import { streamAccess } from "../media/stream-access";
import { requireBearer } from "../middleware/bearer";
import { readOnlyCors } from "../middleware/cors";
import { jsonError } from "../middleware/errors";
import { DYNAMIC_CACHE_CONTROL, ERROR_CACHE_CONTROL, NOT_FOUND_CACHE_CONTROL } from "../shared/cache-policy";
import { DASH_TIME_PATH, parseMediaPath, type MediaObject } from "../shared/layout";

/** Live HLS: /live/<streamId>/... served from R2 through the edge cache. GET and HEAD only (Hono answers HEAD from GET). */
export const mediaRoutes = new Hono<AppEnv>();

mediaRoutes.use("/live/*", readOnlyCors());

mediaRoutes.get("/live/*", async (c) => {
  const url = new URL(c.req.url);
  // The raw, still-encoded path: parseMediaPath refuses escapes instead of decoding them.
  const parsed = parseMediaPath(url.pathname);
  if (!parsed.ok) {
    return jsonError(c, 400, `${parsed.reason}: media paths look like /live/<streamId>/master.m3u8`, {
      "Cache-Control": ERROR_CACHE_CONTROL,
    });
  }
  const { object } = parsed;
  const directives = object.kind === "media-playlist" ? parseDeliveryDirectives(url.searchParams) : ({ ok: true, msn: null, part: null } as const);
  if (!directives.ok) return jsonError(c, 400, `${directives.reason}: see RFC 8216bis 6.2.5.2`, { "Cache-Control": ERROR_CACHE_CONTROL });
  const full = await fullResponse(c, url, object, directives.msn, directives.part);
  // A 404 (not written yet) or 503 (storage down) gives nothing away, so it is answered before the stream's
  // access is looked up: requests for made-up stream ids cost a cached 404, never a registry call. The
  // price: a signed stream's missing segment answers 404 even to a request without a valid token.
  if (full.status !== 200) return full;

  let access;
  try {
    access = await streamAccess(c.env, object.streamId);
  } catch (err) {
    console.error("stream access lookup failed", object.streamId, err);
    return jsonError(c, 503, "could not check who may watch this stream; retry in a second", {
      "Cache-Control": ERROR_CACHE_CONTROL,
      "Retry-After": "1",
    });
  }
  if (access === "unknown") {
    return jsonError(c, 404, `no stream ${object.streamId}; check the id in your watch URL`, { "Cache-Control": NOT_FOUND_CACHE_CONTROL });
  }
  if (access === "public") return answerRequest(c.req.raw, full);

  const secret = c.env.PLAYBACK_SIGNING_KEY;
  if (!secret) {
    return jsonError(c, 500, "PLAYBACK_SIGNING_KEY is not configured on the server; set it with `wrangler secret put PLAYBACK_SIGNING_KEY`", {
      "Cache-Control": ERROR_CACHE_CONTROL,
    });
  }
  const tokens = presentedTokens(url, c.req.header("Cookie") ?? null);
  const now = Math.floor(Date.now() / 1000);
  const viewer = c.req.header("CF-Connecting-IP") ?? null;
  let refused: TokenRefusal | undefined;
  for (const token of tokens) {
    const check = await verifyPlaybackToken(secret, token, object.streamId, now, viewer);
    if (check.ok) return answerRequest(c.req.raw, await signedMediaResponse(full, object.kind, token));
    refused ??= check;
  }
  return jsonError(c, 403, refusal(object.streamId, refused), { "Cache-Control": ERROR_CACHE_CONTROL });
});

/**
 * The clock DASH players sync with: the live MPD's UTCTiming (urn:mpeg:dash:utc:http-iso:2014) names it,
 * since dash.js otherwise asks time.akamai.com, and a time written into the cached MPD is stale. Never cached.
 */
mediaRoutes.use(DASH_TIME_PATH, readOnlyCors());
mediaRoutes.get(DASH_TIME_PATH, (c) => c.text(new Date().toISOString(), 200, { "Cache-Control": DYNAMIC_CACHE_CONTROL }));

/** Whoever runs this deployment (the INGEST_SECRET holder) may see what media serving costs this isolate. */
mediaRoutes.get("/internal/metrics", requireBearer("INGEST_SECRET"), (c) => c.json(mediaMetrics()));

mediaRoutes.all("/live/*", (c) =>
  jsonError(c, 405, "media is read-only: use GET or HEAD", { Allow: "GET, HEAD, OPTIONS", "Cache-Control": ERROR_CACHE_CONTROL }),
);

/**
 * The whole object (200, 404 or 503), shared by every viewer whatever token or query it sent. A media
 * playlist comes from the stream's PlaylistGate while it holds a partial playlist (partial-playlist.ts),
 * else from storage. A blocking playlist reload (`msn`, and `part`) waits for what it asks for and is
 * kept under its own numbers; so does a part named by a preload hint before it is stored (preload-hint.ts).
 */
async function fullResponse(c: Context<AppEnv>, url: URL, object: MediaObject, msn: number | null, part: number | null): Promise<Response> {
  const gate = () => playlistGateStub(c.env, object.streamId);
  const readStored = () => readMediaObject(c.env.MEDIA, object);
  const fromStore = msn === null ? readStored : () => blockingPlaylist({ object, msn, read: readStored, gate: gate() });
  const read =
    object.kind === "media-playlist"
      ? async () => (await partialPlaylist({ object, msn, part, gate: gate() })) ?? (await fromStore())
      : object.kind === "media-segment"
        ? () => hintedPart({ object, read: readStored, gate: gate() })
        : fromStore;
  if (c.env.EDGE_CACHE === "off") return snapshotToResponse(await read());
  // Other query parameters (tokens, cache busters) are dropped so they cannot multiply cache entries or R2 reads.
  const cacheKey = `${url.origin}${url.pathname}${msn === null ? "" : `?_HLS_msn=${msn}`}${part === null ? "" : `&_HLS_part=${part}`}`;
  return fetchThroughEdgeCache(new Request(cacheKey), read, c.executionCtx);
}

/** Why the first token presented was refused, in words a viewer (or the site embedding the player) can act on. */
function refusal(streamId: string, refused: TokenRefusal | undefined): string {
  if (!refused) return `stream ${streamId} requires a signed playback token: add ?token=<token> or send the ${TOKEN_COOKIE} cookie`;
  switch (refused.reason) {
    case "expired":
      return `playback token expired at ${new Date(refused.expiresAt * 1000).toISOString()}; get a new one from the site you are watching on`;
    case "wrong-network":
      return "playback token is bound to another network address; get a new one from the site you are watching on";
    case "malformed":
    case "forged":
      return `playback token is not valid for stream ${streamId}`;
  }
}
