import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { jsonError } from "./errors";

type SecretName = "ADMIN_TOKEN" | "INGEST_SECRET";

/** Refuses the request unless it carries `Authorization: Bearer <env[secretName]>`. */
export function requireBearer(secretName: SecretName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const expected = c.env[secretName];
    // An unset secret must never turn into "any empty token works".
    if (!expected) return jsonError(c, 500, `${secretName} is not configured on the server; set it with \`wrangler secret put ${secretName}\``);
    const presented = bearerToken(c.req.header("Authorization"));
    if (!presented || !(await secretsMatch(presented, expected))) {
      return jsonError(c, 401, `send Authorization: Bearer <${secretName}>`, { "WWW-Authenticate": "Bearer" });
    }
    await next();
  };
}

export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
}

/** Compares digests, not the strings, so neither the length nor a matching prefix leaks through timing. */
export async function secretsMatch(presented: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(presented)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
