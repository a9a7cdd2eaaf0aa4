import { Hono } from "hono";
import { z } from "zod";
import { registryStub, type AppEnv } from "../env";
import { requireBearer } from "../middleware/bearer";
import { jsonError } from "../middleware/errors";
import { jsonBody } from "../middleware/json-body";
import { INGEST_AUTHORIZE_PATH, INGEST_EVENTS_PATH } from "../shared/ingest-api";
import { RENDITION_PATTERN, SESSION_ID_PATTERN, STREAM_ID_PATTERN } from "../shared/layout";

// The key's format is checked by the registry: a malformed key is just another unknown key (403), not a bad request.
const authorizeBody = z.object({ streamKey: z.string().max(256) });

const eventBody = z.object({
  streamId: z.string().regex(STREAM_ID_PATTERN, "must be a 12-character stream id"),
  sessionId: z.string().regex(SESSION_ID_PATTERN, "must be 6-32 characters a-z0-9"),
  type: z.enum(["live", "idle"]),
  renditions: z.array(z.string().regex(RENDITION_PATTERN, "must look like 720p or audio")).max(16).optional(),
});

/** Called by the ingest node only (INGEST_SECRET); the contract is workers/shared/ingest-api.ts. */
export const ingestRoutes = new Hono<AppEnv>();

ingestRoutes.use("/internal/ingest/*", requireBearer("INGEST_SECRET"));

ingestRoutes.post(INGEST_AUTHORIZE_PATH, jsonBody(authorizeBody), async (c) => {
  const streamId = await registryStub(c.env).authorizeKey(c.req.valid("json").streamKey);
  if (!streamId) return jsonError(c, 403, "unknown or revoked stream key");
  return c.json({ streamId });
});

ingestRoutes.post(INGEST_EVENTS_PATH, jsonBody(eventBody), async (c) => {
  const event = c.req.valid("json");
  const outcome = await registryStub(c.env).recordEvent(event);
  switch (outcome) {
    case "unknown-stream":
      return jsonError(c, 404, `no stream ${event.streamId}; authorize its stream key first`);
    case "revoked":
      return jsonError(c, 403, `stream ${event.streamId} was revoked; stop the publish`);
    case "recorded":
    case "stale-session":
      // A stale "idle" changes nothing, and there is nothing for the ingest node to do about it.
      return c.body(null, 204);
  }
});
