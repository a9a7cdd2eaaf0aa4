import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../env";

/** Players need these to do range requests and revalidation from another origin. */
const EXPOSED_HEADERS = ["Content-Length", "Content-Range", "ETag"];
const REQUEST_HEADERS = ["Range", "If-None-Match", "If-Range"];
const PREFLIGHT_MAX_AGE_SECONDS = 86_400;

/**
 * CORS for what any page may read (media, public stream info): read-only methods, origins from
 * ALLOWED_ORIGINS. The headers are added after the edge cache lookup, so cached objects stay
 * origin-neutral and one entry serves every origin.
 */
export function readOnlyCors(): MiddlewareHandler<AppEnv> {
  let configured: string | undefined;
  let middleware: MiddlewareHandler | undefined;
  return (c, next) => {
    if (!middleware || configured !== c.env.ALLOWED_ORIGINS) {
      configured = c.env.ALLOWED_ORIGINS;
      middleware = cors({
        origin: parseAllowedOrigins(configured),
        allowMethods: ["GET", "HEAD", "OPTIONS"],
        allowHeaders: REQUEST_HEADERS,
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: PREFLIGHT_MAX_AGE_SECONDS,
      });
    }
    return middleware(c, next);
  };
}

/** "*" allows any origin; otherwise a comma list of exact origins, whose matches are echoed back. */
export function parseAllowedOrigins(value: string | undefined): string | string[] {
  const origins = (value ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  return origins.includes("*") ? "*" : origins;
}
