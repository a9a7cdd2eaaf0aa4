import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ERROR_CACHE_CONTROL } from "../shared/cache-policy";

/** Every error the edge returns has this shape, and its message says what the caller should do next. */
export function jsonError(c: Context, status: ContentfulStatusCode, error: string, headers?: Record<string, string>): Response {
  return c.json({ error }, status, headers);
}

export const handleError: ErrorHandler = (err, c) => {
  // Hono raises HTTPException for requests it cannot parse (e.g. malformed JSON): those are the caller's to fix.
  if (err instanceof HTTPException && err.status < 500) {
    return jsonError(c, err.status as ContentfulStatusCode, err.message, { "Cache-Control": ERROR_CACHE_CONTROL });
  }
  console.error("unhandled error", c.req.method, new URL(c.req.url).pathname, err);
  return jsonError(c, 500, "internal error; retry, and report it if it persists", { "Cache-Control": ERROR_CACHE_CONTROL });
};

export const handleNotFound: NotFoundHandler = (c) =>
  jsonError(c, 404, `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
