import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { bearerToken, secretsMatch } from "./bearer";
import { jsonError } from "./errors";

/**
 * A stream's owner token: HMAC-SHA256 of the stream id keyed with ADMIN_TOKEN, hex. It can be handed to a
 * streamer or co-host (moderating chat, minting playback tokens) without giving away the admin token;
 * nothing is stored, and rotating ADMIN_TOKEN revokes every one.
 */
export async function moderatorToken(adminToken: string, streamId: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(adminToken), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(streamId));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Admits `Authorization: Bearer <admin token>` or the owner token of the stream named by `:id`. */
export const requireStreamOwner: MiddlewareHandler<AppEnv> = async (c, next) => {
  const admin = c.env.ADMIN_TOKEN;
  if (!admin) return jsonError(c, 500, "ADMIN_TOKEN is not configured on the server; set it with `wrangler secret put ADMIN_TOKEN`");
  const presented = bearerToken(c.req.header("Authorization"));
  const accepted =
    presented !== undefined &&
    ((await secretsMatch(presented, admin)) || (await secretsMatch(presented, await moderatorToken(admin, c.req.param("id") ?? ""))));
  if (!accepted) {
    return jsonError(c, 401, "send Authorization: Bearer <admin token or this stream's moderator token>", { "WWW-Authenticate": "Bearer" });
  }
  await next();
};
