import { Hono } from "hono";
import { z } from "zod";
import { registryStub, type AppEnv } from "../env";
import { parseIpPrefix } from "../media/ip-prefix";
import { signPlaybackToken, TOKEN_PARAM } from "../media/playback-token";
import { jsonError } from "../middleware/errors";
import { jsonBody } from "../middleware/json-body";
import { requireStreamOwner } from "../middleware/stream-owner";
import { hlsPath, STREAM_ID_PATTERN } from "../shared/layout";

const MAX_TTL_SECONDS = 7 * 24 * 3600;

const mintBody = z.object({
  ttlSeconds: z.number().int().min(10).max(MAX_TTL_SECONDS, `must be at most ${MAX_TTL_SECONDS} (7 days)`),
  viewerPrefix: z
    .string()
    .max(64)
    .refine((prefix) => parseIpPrefix(prefix) !== null, "must be an address or prefix like 203.0.113.0/24 or 2001:db8::/48")
    .optional(),
});

/**
 * `POST /api/streams/:id/playback-tokens {ttlSeconds, viewerPrefix?}` -> `{token, expiresAt, hlsUrl}`.
 * Called by the admin or the stream's owner (its moderator token), typically from the backend of the
 * site that embeds the player (viewers never see either token). A token can be minted before signed playback is switched on for the stream.
 */
export const playbackTokenRoutes = new Hono<AppEnv>();

playbackTokenRoutes.post("/api/streams/:id/playback-tokens", requireStreamOwner, jsonBody(mintBody), async (c) => {
  const secret = c.env.PLAYBACK_SIGNING_KEY;
  if (!secret) return jsonError(c, 500, "PLAYBACK_SIGNING_KEY is not configured on the server; set it with `wrangler secret put PLAYBACK_SIGNING_KEY`");
  const id = c.req.param("id");
  const record = STREAM_ID_PATTERN.test(id) ? await registryStub(c.env).getStream(id) : null;
  if (!record || record.revoked) return jsonError(c, 404, `no stream ${id}; list streams with GET /api/streams`);

  const { ttlSeconds, viewerPrefix } = c.req.valid("json");
  const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
  const token = await signPlaybackToken(secret, { streamId: id, expiresAt, ...(viewerPrefix ? { viewerPrefix } : {}) });
  return c.json({
    token,
    expiresAt: new Date(expiresAt * 1000).toISOString(),
    hlsUrl: `${new URL(c.req.url).origin}${hlsPath(id)}?${TOKEN_PARAM}=${token}`,
  });
});
