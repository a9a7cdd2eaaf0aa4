import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../env";

/** Players need these to do range requests and revalidation from another origin. */
const EXPOSED_HEADERS = ["Content-Length", "Content-Range", "ETag"];
const EXPOSED_HEADERS_VALUE = EXPOSED_HEADERS.join(",");
const REQUEST_HEADERS = ["Range", "If-None-Match", "If-Range"];
const PREFLIGHT_MAX_AGE_SECONDS = 86_400;

/**
 * CORS for what any page may read (media, public stream info): read-only methods, origins from
 * ALLOWED_ORIGINS. The headers are added after the edge cache lookup, so cached objects stay
 * origin-neutral and one entry serves every origin.
 *
 * Preflights (OPTIONS) are hono's cors(). Every other request gets exactly what hono's cors() gives it,
 * byte for byte (Access-Control-Allow-Origin when the origin is allowed, Access-Control-Expose-Headers,
 * Vary: Origin unless any origin is allowed), for less: hono's cors() sets them on a placeholder response
 * before the handler runs, and hono then copies the handler's Response into a new one to merge them in,
 * on every request. Here they go into hono's prepared headers (which c.json() and the other helpers start
 * from, as they started from the placeholder's) and, after the handler, onto a Response the handler made
 * itself (the media answers) as it is.
 */
export function readOnlyCors(): MiddlewareHandler<AppEnv> {
  let configured: string | undefined;
  let preflight: MiddlewareHandler | undefined;
  let allowed: string | string[] = [];
  return async (c, next) => {
    if (!preflight || configured !== c.env.ALLOWED_ORIGINS) {
      configured = c.env.ALLOWED_ORIGINS;
      allowed = parseAllowedOrigins(configured);
      preflight = cors({
        origin: allowed,
        allowMethods: ["GET", "HEAD", "OPTIONS"],
        allowHeaders: REQUEST_HEADERS,
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: PREFLIGHT_MAX_AGE_SECONDS,
      });
    }
    if (c.req.method === "OPTIONS") return preflight(c, next);

    const anyOrigin = allowed === "*";
    const origin = anyOrigin ? "*" : allowedOrigin(allowed as string[], c.req.header("origin") || "");
    if (origin !== null) c.header("Access-Control-Allow-Origin", origin);
    c.header("Access-Control-Expose-Headers", EXPOSED_HEADERS_VALUE);
    await next();

    let headers = c.res.headers;
    // Made by a hono helper (c.json(), c.text(), ...): the prepared headers are in it already.
    if (!headers.has(EXPOSE_HEADERS_NAME)) {
      try {
        headers.set(EXPOSE_HEADERS_NAME, EXPOSED_HEADERS_VALUE);
      } catch {
        // Immutable headers (a Response from caches.default or fetch): answer with a copy, as hono does.
        c.res = new Response(c.res.body, c.res);
        headers = c.res.headers;
        headers.set(EXPOSE_HEADERS_NAME, EXPOSED_HEADERS_VALUE);
      }
      if (origin !== null) headers.set("Access-Control-Allow-Origin", origin);
    }
    if (!anyOrigin) headers.append("Vary", "Origin");
  };
}

/**
 * Lower case on a Response the handler made, as hono's cors() sent it there (it copied its headers in by
 * the names Headers.entries() gives): workerd writes names it does not know, like this one, as they were
 * set, so the answers stay byte for byte what they were.
 */
const EXPOSE_HEADERS_NAME = "access-control-expose-headers";

/** An origin from the list is echoed back; any other gets no Access-Control-Allow-Origin. */
function allowedOrigin(allowed: string[], origin: string): string | null {
  return allowed.includes(origin) ? origin : null;
}

/** "*" allows any origin; otherwise a comma list of exact origins, whose matches are echoed back. */
export function parseAllowedOrigins(value: string | undefined): string | string[] {
  const origins = (value ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  return origins.includes("*") ? "*" : origins;
}
