import type { MiddlewareHandler } from "hono";
import { DYNAMIC_CACHE_CONTROL } from "../shared/cache-policy";

/**
 * Workers Cache sits in front of this Worker in production and caches whatever a response allows, so a
 * response that forgot Cache-Control (an admin listing, an error) could be served to other people. Routes
 * that are meant to be cached say so; everything else is marked uncacheable here.
 */
export const noStoreByDefault: MiddlewareHandler = async (c, next) => {
  await next();
  if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", DYNAMIC_CACHE_CONTROL);
};
