import { Hono } from "hono";
import { registryStub, type AppEnv } from "../env";
import { jsonError } from "../middleware/errors";
import { requireStreamOwner } from "../middleware/stream-owner";
import { DYNAMIC_CACHE_CONTROL } from "../shared/cache-policy";
import { STREAM_ID_PATTERN } from "../shared/layout";

/**
 * `GET /api/streams/:id/health` -> `{status, sessionId, health}`: the latest report of the live session
 * (workers/shared/ingest-api.ts, IngestHealth; every few seconds), null while idle or before the first one.
 * For the studio only (admin or the stream's owner token): it tells how the publisher's connection is doing.
 */
export const streamHealthRoutes = new Hono<AppEnv>();

streamHealthRoutes.get("/api/streams/:id/health", requireStreamOwner, async (c) => {
  const id = c.req.param("id");
  const health = STREAM_ID_PATTERN.test(id) ? await registryStub(c.env).getHealth(id) : null;
  if (!health) return jsonError(c, 404, `no stream ${id}; list streams with GET /api/streams`);
  return c.json(health, 200, { "Cache-Control": DYNAMIC_CACHE_CONTROL });
});
