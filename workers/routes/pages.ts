import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import { jsonError } from "../middleware/errors";
import { STREAM_ID_PATTERN } from "../shared/layout";

/** The pages are static HTML that fetch everything else (stream info, playlists) themselves: safe to share for a minute. */
const PAGE_CACHE_CONTROL = "public, max-age=60";

export const pageRoutes = new Hono<AppEnv>();

pageRoutes.get("/", (c) => servePage(c, "home"));
pageRoutes.get("/studio", (c) => servePage(c, "studio"));
pageRoutes.get("/watch/:id", (c) => (STREAM_ID_PATTERN.test(c.req.param("id")) ? servePage(c, "watch") : unknownStream(c)));
pageRoutes.get("/embed/:id", (c) => (STREAM_ID_PATTERN.test(c.req.param("id")) ? servePage(c, "embed") : unknownStream(c)));

async function servePage(c: Context<AppEnv>, page: "home" | "watch" | "embed" | "studio"): Promise<Response> {
  const assetPath = `/pages/${page}.html`;
  // Forward the client's headers so If-None-Match revalidation against the asset's ETag still yields 304.
  const asset = await c.env.ASSETS.fetch(new Request(new URL(assetPath, c.req.url), { headers: c.req.raw.headers }));
  if (asset.status === 404) {
    return jsonError(c, 503, `web/dist${assetPath} is missing: build the web app with \`npm run build:web\``);
  }
  const response = new Response(asset.body, asset);
  if (asset.ok || asset.status === 304) response.headers.set("Cache-Control", PAGE_CACHE_CONTROL);
  return response;
}

function unknownStream(c: Context<AppEnv>): Response {
  return jsonError(c, 404, "not a stream id: stream ids are 12 characters, a-z and 0-9");
}
