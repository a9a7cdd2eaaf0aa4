/**
 * Client for the edge Worker's JSON API (same origin). Responses are checked at runtime: a page that gets
 * something unexpected says so instead of rendering `undefined`.
 *
 *   GET    /api/streams/:id            public   -> StreamInfo | 404
 *   GET    /api/streams?status=live    public   -> LiveStreamSummary[]
 *   GET    /api/streams                admin    -> {streams: admin views}
 *   POST   /api/streams {title, record?} admin  -> 201 CreatedStream
 *   PATCH  /api/streams/:id {signedPlayback}         admin -> stream
 *   DELETE /api/streams/:id            admin    -> 204
 *   POST   /api/streams/:id/playback-tokens {ttlSeconds} admin -> {token, expiresAt, hlsUrl}
 *
 * The studio's other calls (settings, key rotation, health, recordings, moderation) are in studio/api.ts.
 */
import type { StreamStatus } from "../../../workers/shared/ingest-api";

export type { StreamStatus };

export interface StreamInfo {
  id: string;
  title: string;
  status: StreamStatus;
  hlsUrl: string;
  watchUrl: string;
  renditions: string[];
  sessionId: string | null;
  /** Media needs a playback token (`?token=` on the HLS URL; the Worker carries it into the playlists). */
  signedPlayback: boolean;
  /** The live DASH manifest (shown next to the HLS URL for external players); absent from older Workers. */
  dashUrl?: string;
  /** Each broadcast is kept as a recording. */
  record?: boolean;
  viewers?: number;
}

export interface LiveStreamSummary {
  id: string;
  title: string;
  status: StreamStatus;
  viewers?: number;
}

export interface CreatedStream {
  id: string;
  streamKey: string;
  rtmpUrl: string;
  hlsUrl: string;
  watchUrl: string;
  title: string;
  status: StreamStatus;
  signedPlayback?: boolean;
  dashUrl?: string;
  record?: boolean;
}

/** An admin list entry: at least id/title/status; the rest when the Worker includes it. */
export interface AdminStreamEntry extends LiveStreamSummary {
  hlsUrl?: string;
  watchUrl?: string;
  rtmpUrl?: string;
  streamKey?: string;
  signedPlayback?: boolean;
  dashUrl?: string;
  /** Each broadcast is kept as a recording. */
  record?: boolean;
  /** Admin views only: where the stream's events are POSTed (null: none). */
  webhookUrl?: string | null;
  /** Admin list only: revoked streams stay listed by the API. */
  revoked?: boolean;
}

export interface PlaybackToken {
  token: string;
  expiresAt: string;
  hlsUrl: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function str(o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new ApiError(0, `unexpected API response: "${key}" is not a string`);
  return v;
}

export function optStr(o: Json, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" ? v : undefined;
}

export function optNum(o: Json, key: string): number | undefined {
  const v = o[key];
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function status(o: Json): StreamStatus {
  return o.status === "live" ? "live" : "idle";
}

/** Parses one stream of an admin answer (the list, PATCH, or creation). */
export function summary(o: unknown): AdminStreamEntry {
  if (!isObject(o)) throw new ApiError(0, "unexpected API response: list entry is not an object");
  return {
    id: str(o, "id"),
    title: typeof o.title === "string" ? o.title : "",
    status: status(o),
    viewers: optNum(o, "viewers"),
    hlsUrl: optStr(o, "hlsUrl"),
    watchUrl: optStr(o, "watchUrl"),
    rtmpUrl: optStr(o, "rtmpUrl"),
    streamKey: optStr(o, "streamKey"),
    signedPlayback: typeof o.signedPlayback === "boolean" ? o.signedPlayback : undefined,
    dashUrl: optStr(o, "dashUrl"),
    record: typeof o.record === "boolean" ? o.record : undefined,
    webhookUrl: typeof o.webhookUrl === "string" ? o.webhookUrl : o.webhookUrl === null ? null : undefined,
    revoked: o.revoked === true ? true : undefined,
  };
}

function streamInfo(o: unknown): StreamInfo {
  if (!isObject(o)) throw new ApiError(0, "unexpected API response: stream is not an object");
  const renditions = Array.isArray(o.renditions) ? o.renditions.filter((r): r is string => typeof r === "string") : [];
  return {
    id: str(o, "id"),
    title: typeof o.title === "string" ? o.title : "",
    status: status(o),
    hlsUrl: str(o, "hlsUrl"),
    watchUrl: optStr(o, "watchUrl") ?? `/watch/${str(o, "id")}`,
    renditions,
    sessionId: typeof o.sessionId === "string" ? o.sessionId : null,
    signedPlayback: o.signedPlayback === true,
    dashUrl: optStr(o, "dashUrl"),
    record: typeof o.record === "boolean" ? o.record : undefined,
    viewers: optNum(o, "viewers"),
  };
}

export async function request(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  const res = await fetch(path, { ...init, headers, cache: "no-store" });
  return res;
}

export async function errorFrom(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body: unknown = await res.json();
    if (isObject(body) && typeof body.error === "string") message = body.error;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, message);
}

/** The public status of one stream, or null when there is no such stream (404). */
export async function getStream(id: string, signal?: AbortSignal): Promise<StreamInfo | null> {
  const res = await request(`/api/streams/${encodeURIComponent(id)}`, { signal });
  if (res.status === 404) return null;
  if (!res.ok) throw await errorFrom(res);
  return streamInfo(await res.json());
}

export async function listLiveStreams(signal?: AbortSignal): Promise<LiveStreamSummary[]> {
  const res = await request("/api/streams?status=live", { signal });
  if (!res.ok) throw await errorFrom(res);
  const body: unknown = await res.json();
  if (!Array.isArray(body)) throw new ApiError(0, "unexpected API response: expected a list");
  return body.map(summary).filter((s) => s.status === "live");
}

export async function listStreams(token: string, signal?: AbortSignal): Promise<AdminStreamEntry[]> {
  const res = await request("/api/streams", { token, signal });
  if (!res.ok) throw await errorFrom(res);
  const body: unknown = await res.json();
  // Accept a bare list or {streams: [...]}.
  const list = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.streams) ? body.streams : null;
  if (!list) throw new ApiError(0, "unexpected API response: expected a list");
  return list.map(summary).filter((s) => !s.revoked);
}

export async function createStream(token: string, title: string, options: { record?: boolean } = {}): Promise<CreatedStream> {
  const res = await request("/api/streams", {
    method: "POST",
    token,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(options.record ? { title, record: true } : { title }),
  });
  if (!res.ok) throw await errorFrom(res);
  const o: unknown = await res.json();
  if (!isObject(o)) throw new ApiError(0, "unexpected API response");
  return {
    id: str(o, "id"),
    streamKey: str(o, "streamKey"),
    rtmpUrl: str(o, "rtmpUrl"),
    hlsUrl: str(o, "hlsUrl"),
    watchUrl: str(o, "watchUrl"),
    title: typeof o.title === "string" ? o.title : title,
    status: status(o),
    signedPlayback: o.signedPlayback === true,
    dashUrl: optStr(o, "dashUrl"),
    record: typeof o.record === "boolean" ? o.record : undefined,
  };
}

export async function setSignedPlayback(token: string, id: string, signedPlayback: boolean): Promise<void> {
  const res = await request(`/api/streams/${encodeURIComponent(id)}`, {
    method: "PATCH",
    token,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ signedPlayback }),
  });
  if (!res.ok) throw await errorFrom(res);
}

/** A token that lets one player (the studio's preview) play a stream with signed playback. */
export async function mintPlaybackToken(token: string, id: string, ttlSeconds: number): Promise<PlaybackToken> {
  const res = await request(`/api/streams/${encodeURIComponent(id)}/playback-tokens`, {
    method: "POST",
    token,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ttlSeconds }),
  });
  if (!res.ok) throw await errorFrom(res);
  const o: unknown = await res.json();
  if (!isObject(o)) throw new ApiError(0, "unexpected API response");
  return { token: str(o, "token"), expiresAt: str(o, "expiresAt"), hlsUrl: str(o, "hlsUrl") };
}

export async function revokeStream(token: string, id: string): Promise<void> {
  const res = await request(`/api/streams/${encodeURIComponent(id)}`, { method: "DELETE", token });
  if (!res.ok && res.status !== 404) throw await errorFrom(res);
}
