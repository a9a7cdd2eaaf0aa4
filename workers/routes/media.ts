import { Hono } from "hono";
import type { AppEnv } from "../env";
import { answerRequest } from "../media/conditional";
import { fetchThroughEdgeCache } from "../media/edge-cache";
import { readMediaObject } from "../media/origin";
import { readOnlyCors } from "../middleware/cors";
import { jsonError } from "../middleware/errors";
import { ERROR_CACHE_CONTROL } from "../shared/cache-policy";
import { parseMediaPath } from "../shared/layout";

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
  // Query strings are dropped so that cache-busting parameters cannot multiply cache entries or R2 reads.
  const cacheKey = new Request(`${url.origin}${url.pathname}`);
  const full = await fetchThroughEdgeCache(cacheKey, () => readMediaObject(c.env.MEDIA, parsed.object), c.executionCtx);
  return answerRequest(c.req.raw, full);
});

mediaRoutes.all("/live/*", (c) =>
  jsonError(c, 405, "media is read-only: use GET or HEAD", { Allow: "GET, HEAD, OPTIONS", "Cache-Control": ERROR_CACHE_CONTROL }),
);
