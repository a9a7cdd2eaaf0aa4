import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { RegistryEvent } from "../../durable-objects/stream-registry";
import { playlistGateStub, registryStub, type AppEnv } from "../env";
import { requireBearer } from "../middleware/bearer";
import { jsonError } from "../middleware/errors";
import { jsonBody } from "../middleware/json-body";
import {
  INGEST_AUTHORIZE_PATH,
  INGEST_EVENTS_PATH,
  INGEST_PARTS_PATH,
  INGEST_PLAYLISTS_PATH,
  MAX_PARTIAL_PLAYLIST_BYTES,
  type AuthorizeResponse,
  type PartialPlaylistNotice,
  type PlaylistStoredNotice,
} from "../shared/ingest-api";
import { MEDIA_PLAYLIST_FILE, RENDITION_PATTERN, renditionKey, SESSION_ID_PATTERN, sessionMasterPath, STREAM_ID_PATTERN } from "../shared/layout";

// The key's format is checked by the registry: a malformed key is just another unknown key (403), not a bad request.
const authorizeBody = z.object({ streamKey: z.string().max(256) });

const MAX_RENDITIONS = 16;
const DAY_SECONDS = 86_400;
const rendition = z.string().regex(RENDITION_PATTERN, "must look like 720p or audio");
const renditions = z.array(rendition).max(MAX_RENDITIONS);
const isoTime = z.iso.datetime({ offset: true, message: "must be an ISO 8601 time" });
// Bounds far beyond anything real: they keep a confused sender from storing absurd numbers the studio would show.
const measured = (max: number) => z.number().min(0).max(max).nullable();

const health = z.object({
  inputKbps: measured(1_000_000),
  inputFps: measured(1000),
  keyframeIntervalSeconds: measured(3600),
  encoderSpeed: measured(1000),
  lagSeconds: z.number().min(0).max(DAY_SECONDS),
  renditions,
  shed: renditions,
  droppedSegments: z.number().int().min(0).max(1e9),
  ladder: z.object({ topRung: z.enum(["passthrough", "transcoded"]), reason: z.string().max(200) }),
  measuredAt: isoTime,
});

const recording = z
  .object({
    masterPath: z.string().max(256),
    durationSeconds: z.number().min(0).max(30 * DAY_SECONDS),
    startedAt: isoTime,
    endedAt: isoTime,
    renditions: renditions.min(1, "a recording has at least one rendition"),
  })
  .refine((r) => Date.parse(r.endedAt) >= Date.parse(r.startedAt), { message: "endedAt must not be before startedAt", path: ["endedAt"] });

const session = {
  streamId: z.string().regex(STREAM_ID_PATTERN, "must be a 12-character stream id"),
  sessionId: z.string().regex(SESSION_ID_PATTERN, "must be 6-32 characters a-z0-9"),
};

const eventBody = z
  .discriminatedUnion("type", [
    z.object({ ...session, type: z.literal("live"), renditions: renditions.optional(), health: health.optional() }),
    z.object({ ...session, type: z.literal("health"), health }),
    z.object({ ...session, type: z.literal("idle") }),
    z.object({ ...session, type: z.literal("recording-ready"), recording }),
  ])
  .refine((e) => e.type !== "recording-ready" || e.recording.masterPath === sessionMasterPath(e.streamId, e.sessionId), {
    message: "must be the session's own master playlist, /live/<streamId>/<sessionId>/master.m3u8",
    path: ["recording", "masterPath"],
  });

const MAX_MSN = 1_000_000_000;
const playlistNotice = z.object({
  ...session,
  rendition,
  mediaSequence: z.number().int().min(0).max(MAX_MSN),
}) satisfies z.ZodType<PlaylistStoredNotice>;

/** -1: none listed (PartialPlaylistNotice). Part indexes have at most two digits (PART_FILE_PATTERN). */
const orNone = (max: number) => z.number().int().min(-1).max(max);
const partialNotice = z
  .object({
    ...session,
    rendition,
    playlist: z
      .string()
      .startsWith("#EXTM3U", "must be a playlist, starting with #EXTM3U")
      // A string's length never exceeds its UTF-8 size: the cheap check first, the exact one after.
      .max(MAX_PARTIAL_PLAYLIST_BYTES, `must be at most ${MAX_PARTIAL_PLAYLIST_BYTES} bytes`)
      .refine((text) => new TextEncoder().encode(text).byteLength <= MAX_PARTIAL_PLAYLIST_BYTES, `must be at most ${MAX_PARTIAL_PLAYLIST_BYTES} bytes`),
    lastSegment: orNone(MAX_MSN),
    lastPartSegment: orNone(MAX_MSN),
    lastPart: orNone(99),
    ended: z.boolean(),
  })
  .refine((n) => (n.lastPartSegment === -1) === (n.lastPart === -1), {
    message: "lastPartSegment and lastPart are both -1 (no part listed) or neither is",
    path: ["lastPart"],
  }) satisfies z.ZodType<PartialPlaylistNotice>;

/**
 * A partial playlist's JSON: the playlist escaped (each newline and quote takes two bytes, and a playlist
 * line has a few) plus the names. Refused before parsing, so an oversized body costs no JSON parse.
 */
const MAX_PARTIAL_NOTICE_BYTES = 2 * MAX_PARTIAL_PLAYLIST_BYTES + 1024;

/** Called by the ingest node only (INGEST_SECRET); the contract is workers/shared/ingest-api.ts. */
export const ingestRoutes = new Hono<AppEnv>();

ingestRoutes.use("/internal/ingest/*", requireBearer("INGEST_SECRET"));

ingestRoutes.post(INGEST_AUTHORIZE_PATH, jsonBody(authorizeBody), async (c) => {
  const authorized = await registryStub(c.env).authorizeKey(c.req.valid("json").streamKey);
  if (!authorized) return jsonError(c, 403, "unknown or revoked stream key");
  return c.json(authorized satisfies AuthorizeResponse);
});

ingestRoutes.post(INGEST_EVENTS_PATH, jsonBody(eventBody), async (c) => {
  const event: RegistryEvent = c.req.valid("json");
  const outcome = await registryStub(c.env).recordEvent(event);
  switch (outcome) {
    case "unknown-stream":
      return jsonError(c, 404, `no stream ${event.streamId}; authorize its stream key first`);
    case "revoked":
      return jsonError(c, 403, `stream ${event.streamId} was revoked; stop the publish`);
    case "recorded":
    case "stale-session":
      // A stale "idle" or health report changes nothing, and there is nothing for the ingest node to do about it.
      return c.body(null, 204);
  }
});

/** No registry call: the gate only wakes waiting players, who then read the stored playlist themselves. */
ingestRoutes.post(INGEST_PLAYLISTS_PATH, jsonBody(playlistNotice), async (c) => {
  const { streamId, sessionId, rendition, mediaSequence } = c.req.valid("json");
  await playlistGateStub(c.env, streamId).stored(renditionKey(streamId, sessionId, rendition, MEDIA_PLAYLIST_FILE), mediaSequence);
  return c.body(null, 204);
});

/** No registry call either: the gate keeps the newest partial playlist and answers the players waiting on it. */
ingestRoutes.post(
  INGEST_PARTS_PATH,
  bodyLimit({
    maxSize: MAX_PARTIAL_NOTICE_BYTES,
    onError: (c) => jsonError(c, 413, `body too large: a partial playlist notice is at most ${MAX_PARTIAL_NOTICE_BYTES} bytes of JSON`),
  }),
  jsonBody(partialNotice),
  async (c) => {
    const { streamId, sessionId, rendition, playlist, lastSegment, lastPartSegment, lastPart, ended } = c.req.valid("json");
    const key = renditionKey(streamId, sessionId, rendition, MEDIA_PLAYLIST_FILE);
    await playlistGateStub(c.env, streamId).publishPartial(key, { playlist, lastSegment, lastPartSegment, lastPart, ended });
    return c.body(null, 204);
  },
);
