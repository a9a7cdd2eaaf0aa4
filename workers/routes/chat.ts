import { Hono, type MiddlewareHandler } from "hono";
import type { ChatRoom } from "../../durable-objects/chat-room";
import { banRequestSchema, slowModeRequestSchema, USER_ID_PATTERN } from "../../durable-objects/protocol";
import { registryStub, type AppEnv, type Env } from "../env";
import { requireBearer } from "../middleware/bearer";
import { readOnlyCors } from "../middleware/cors";
import { jsonError } from "../middleware/errors";
import { jsonBody } from "../middleware/json-body";
import { moderatorToken, requireStreamOwner } from "../middleware/stream-owner";
import { STREAM_ID_PATTERN } from "../shared/layout";

/**
 * Chat for each stream, one ChatRoom Durable Object per stream id.
 *
 *   GET    /api/streams/:id/chat?cid=<client id>     WebSocket (partysocket with basePath), anyone
 *   GET    /api/streams/:id/viewers                  {streamId, viewers}, anyone, cacheable for 2 s
 *   POST   /api/streams/:id/moderator-token          {token}, admin token
 *   DELETE /api/streams/:id/chat/messages/:messageId owner
 *   POST   /api/streams/:id/chat/bans   {userId}     owner
 *   DELETE /api/streams/:id/chat/bans/:userId        owner
 *   PUT    /api/streams/:id/chat/slow-mode {seconds} owner (0 turns it off)
 *
 * "Owner" is `Authorization: Bearer <token>` with either the admin token or the stream's moderator
 * token. Moderation is HTTP rather than messages on the socket so that a token never has to travel in a
 * WebSocket URL (browsers cannot set headers on one) and so that a studio can moderate without joining.
 */

// Presence is broadcast at most every 2 s, so an answer this old is as fresh as the room's own.
const VIEWERS_CACHE_CONTROL = "public, max-age=2, s-maxage=2";

export const chatRoutes = new Hono<AppEnv>();

function chatRoom(env: Env, streamId: string): DurableObjectStub<ChatRoom> {
  return env.ChatRoom.getByName(streamId);
}

/** The viewer count of a stream, for the streams API and the home page: distinct viewers, not sockets. */
export function viewerCount(env: Env, streamId: string): Promise<number> {
  return chatRoom(env, streamId).viewerCount();
}

const validStreamId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = c.req.param("id") ?? "";
  if (!STREAM_ID_PATTERN.test(id)) return jsonError(c, 404, `no stream ${id}; stream ids are 12 lowercase letters and digits`);
  await next();
};

const registeredStream: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = c.req.param("id") ?? "";
  const record = await registryStub(c.env).getStream(id);
  if (!record || record.revoked) return jsonError(c, 404, `no stream ${id}; list streams with GET /api/streams`);
  await next();
};

const admin = requireBearer("ADMIN_TOKEN");

// The room itself checks the client id, bans and that the stream exists (once per wake, not per viewer).
chatRoutes.get("/api/streams/:id/chat", validStreamId, (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return jsonError(c, 426, "this is the chat WebSocket; connect with a WebSocket client and ?cid=<client id>");
  }
  return chatRoom(c.env, c.req.param("id")).fetch(c.req.raw);
});

chatRoutes.use("/api/streams/:id/viewers", readOnlyCors());
chatRoutes.get("/api/streams/:id/viewers", validStreamId, async (c) => {
  const streamId = c.req.param("id");
  return c.json({ streamId, viewers: await viewerCount(c.env, streamId) }, 200, { "Cache-Control": VIEWERS_CACHE_CONTROL });
});

chatRoutes.post("/api/streams/:id/moderator-token", validStreamId, admin, registeredStream, async (c) => {
  return c.json({ streamId: c.req.param("id"), token: await moderatorToken(c.env.ADMIN_TOKEN, c.req.param("id")) });
});

chatRoutes.delete("/api/streams/:id/chat/messages/:messageId", validStreamId, requireStreamOwner, registeredStream, async (c) => {
  const messageId = Number(c.req.param("messageId"));
  if (!Number.isSafeInteger(messageId) || messageId < 1) return jsonError(c, 400, "message ids are positive integers");
  if (!(await chatRoom(c.env, c.req.param("id")).deleteMessage(messageId))) {
    return jsonError(c, 404, `no message ${messageId} in this chat (already deleted?)`);
  }
  return c.body(null, 204);
});

chatRoutes.post("/api/streams/:id/chat/bans", validStreamId, requireStreamOwner, registeredStream, jsonBody(banRequestSchema), async (c) => {
  await chatRoom(c.env, c.req.param("id")).banUser(c.req.valid("json").userId);
  return c.body(null, 204);
});

chatRoutes.delete("/api/streams/:id/chat/bans/:userId", validStreamId, requireStreamOwner, registeredStream, async (c) => {
  const userId = c.req.param("userId");
  if (!USER_ID_PATTERN.test(userId) || !(await chatRoom(c.env, c.req.param("id")).unbanUser(userId))) {
    return jsonError(c, 404, `user ${userId} is not banned in this chat`);
  }
  return c.body(null, 204);
});

chatRoutes.put("/api/streams/:id/chat/slow-mode", validStreamId, requireStreamOwner, registeredStream, jsonBody(slowModeRequestSchema), async (c) => {
  const { seconds } = c.req.valid("json");
  await chatRoom(c.env, c.req.param("id")).setSlowMode(seconds);
  return c.json({ seconds });
});
