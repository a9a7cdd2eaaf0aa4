/**
 * The studio's own API calls, beyond lib/api.ts. All but the recordings list need the admin token (the
 * moderation and health calls also take a stream's owner token; the studio has the admin one).
 *
 *   PATCH  /api/streams/:id {signedPlayback?, record?, webhookUrl?}  -> admin view (+ webhookSecret)
 *   POST   /api/streams/:id/key                                       -> {streamKey, rtmpUrl}
 *   GET    /api/streams/:id/health                                    -> {status, sessionId, health}
 *   GET    /api/streams/:id/recordings                      public    -> {recordings: [...]} newest first
 *   DELETE /api/streams/:id/recordings/:sessionId                     -> 204
 *   DELETE /api/streams/:id/chat/messages/:messageId                  -> 204
 *   POST   /api/streams/:id/chat/bans {userId}                        -> 204
 *   DELETE /api/streams/:id/chat/bans/:userId                         -> 204
 *   PUT    /api/streams/:id/chat/slow-mode {seconds}                  -> {seconds}
 *
 * Errors are JSON {error}; they arrive here as ApiError with that text.
 */
import type { IngestHealth, LadderDecision } from "../../../workers/shared/ingest-api";
import { ApiError, errorFrom, isObject, optStr, request, str, summary, type AdminStreamEntry, type Json, type StreamStatus } from "../lib/api";

export type { IngestHealth };

const enc = encodeURIComponent;

function streamPath(id: string, rest = ""): string {
  return `/api/streams/${enc(id)}${rest}`;
}

async function send(path: string, token: string, method: string, body?: unknown): Promise<Response> {
  const res = await request(path, {
    method,
    token,
    ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await errorFrom(res);
  return res;
}

async function jsonObject(res: Response): Promise<Json> {
  const body: unknown = await res.json();
  if (!isObject(body)) throw new ApiError(0, "unexpected API response: expected an object");
  return body;
}

// ---- settings and key ----

export interface StreamSettingsPatch {
  signedPlayback?: boolean;
  record?: boolean;
  /** null removes the webhook */
  webhookUrl?: string | null;
}

export interface UpdatedStream {
  stream: AdminStreamEntry;
  /** Only when a new webhook URL was set: shown once, never again. */
  webhookSecret?: string;
}

export async function updateStream(token: string, id: string, patch: StreamSettingsPatch): Promise<UpdatedStream> {
  const o = await jsonObject(await send(streamPath(id), token, "PATCH", patch));
  return { stream: summary(o), webhookSecret: optStr(o, "webhookSecret") };
}

export interface NewStreamKey {
  streamKey: string;
  rtmpUrl: string;
}

export async function rotateStreamKey(token: string, id: string): Promise<NewStreamKey> {
  const o = await jsonObject(await send(streamPath(id, "/key"), token, "POST"));
  return { streamKey: str(o, "streamKey"), rtmpUrl: str(o, "rtmpUrl") };
}

// ---- health ----

export interface StreamHealth {
  status: StreamStatus;
  sessionId: string | null;
  health: IngestHealth | null;
}

function numOrNull(o: Json, key: string): number | null {
  const v = o[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function parseHealth(v: unknown): IngestHealth | null {
  if (!isObject(v)) return null;
  const ladder: LadderDecision = isObject(v.ladder)
    ? { topRung: v.ladder.topRung === "passthrough" ? "passthrough" : "transcoded", reason: typeof v.ladder.reason === "string" ? v.ladder.reason : "" }
    : { topRung: "transcoded", reason: "" };
  return {
    inputKbps: numOrNull(v, "inputKbps"),
    inputFps: numOrNull(v, "inputFps"),
    keyframeIntervalSeconds: numOrNull(v, "keyframeIntervalSeconds"),
    encoderSpeed: numOrNull(v, "encoderSpeed"),
    lagSeconds: numOrNull(v, "lagSeconds") ?? 0,
    renditions: strings(v.renditions),
    shed: strings(v.shed),
    droppedSegments: numOrNull(v, "droppedSegments") ?? 0,
    ladder,
    measuredAt: typeof v.measuredAt === "string" ? v.measuredAt : "",
  };
}

export async function getHealth(token: string, id: string, signal?: AbortSignal): Promise<StreamHealth> {
  const res = await request(streamPath(id, "/health"), { token, signal });
  if (!res.ok) throw await errorFrom(res);
  const o = await jsonObject(res);
  return {
    status: o.status === "live" ? "live" : "idle",
    sessionId: typeof o.sessionId === "string" ? o.sessionId : null,
    health: parseHealth(o.health),
  };
}

// ---- recordings ----

export interface Recording {
  sessionId: string;
  hlsUrl: string;
  durationSeconds: number;
  startedAt: string;
  endedAt: string;
  renditions: string[];
}

export async function listRecordings(id: string, signal?: AbortSignal): Promise<Recording[]> {
  const res = await request(streamPath(id, "/recordings"), { signal });
  if (!res.ok) throw await errorFrom(res);
  const o = await jsonObject(res);
  if (!Array.isArray(o.recordings)) throw new ApiError(0, 'unexpected API response: "recordings" is not a list');
  return o.recordings.filter(isObject).map((r) => ({
    sessionId: str(r, "sessionId"),
    hlsUrl: str(r, "hlsUrl"),
    durationSeconds: numOrNull(r, "durationSeconds") ?? 0,
    startedAt: optStr(r, "startedAt") ?? "",
    endedAt: optStr(r, "endedAt") ?? "",
    renditions: strings(r.renditions),
  }));
}

export async function deleteRecording(token: string, id: string, sessionId: string): Promise<void> {
  await send(streamPath(id, `/recordings/${enc(sessionId)}`), token, "DELETE");
}

// ---- chat moderation (workers/routes/chat.ts) ----

export async function deleteChatMessage(token: string, id: string, messageId: number): Promise<void> {
  await send(streamPath(id, `/chat/messages/${messageId}`), token, "DELETE");
}

export async function banChatUser(token: string, id: string, userId: string): Promise<void> {
  await send(streamPath(id, "/chat/bans"), token, "POST", { userId });
}

export async function unbanChatUser(token: string, id: string, userId: string): Promise<void> {
  await send(streamPath(id, `/chat/bans/${enc(userId)}`), token, "DELETE");
}

/** 0 turns slow mode off. Resolves with the seconds the room now enforces. */
export async function setSlowMode(token: string, id: string, seconds: number): Promise<number> {
  const res = await send(streamPath(id, "/chat/slow-mode"), token, "PUT", { seconds });
  const o: unknown = await res.json().catch(() => null);
  return isObject(o) && typeof o.seconds === "number" ? o.seconds : seconds;
}
