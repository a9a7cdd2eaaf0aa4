import type { ChatRoom } from "../durable-objects/chat-room";
import type { PlaylistGate } from "../durable-objects/playlist-gate";
import type { StreamRegistry } from "../durable-objects/stream-registry";

/** The bindings declared in wrangler.toml, plus the secrets (`wrangler secret put`). */
export interface Env {
  MEDIA: R2Bucket;
  REGISTRY: DurableObjectNamespace<StreamRegistry>;
  /** One chat room per stream, named by the stream id (workers/routes/chat.ts). */
  ChatRoom: DurableObjectNamespace<ChatRoom>;
  /** Partial playlists, and where blocking playlist reloads wait for the ingest node's notice, one per stream (durable-objects/playlist-gate.ts). */
  PLAYLIST_GATE: DurableObjectNamespace<PlaylistGate>;
  ASSETS: Fetcher;
  ADMIN_TOKEN: string;
  INGEST_SECRET: string;
  /** What OBS calls "Server": the ingest node's public RTMP address. */
  RTMP_URL: string;
  /** "*" or a comma-separated list of origins allowed to read media and the public API. */
  ALLOWED_ORIGINS: string;
  /** "off": every media request reads R2 (no memory hold, caches.default or collapsing; the edge benchmark's baseline). */
  EDGE_CACHE: string;
  /** "true" lets webhooks use plain http to this machine (localhost, 127.0.0.1, [::1]; the local stack); otherwise https only. */
  WEBHOOK_ALLOW_HTTP: string;
  /** Signs playback tokens for streams with signed playback (workers/media/playback-token.ts). A secret. */
  PLAYBACK_SIGNING_KEY?: string;
}

export type AppEnv = { Bindings: Env };

/** Stream metadata is small and needs one consistent view (key lookups, status flips), so it lives in one object. */
const REGISTRY_NAME = "global";

export function registryStub(env: Env): DurableObjectStub<StreamRegistry> {
  return env.REGISTRY.getByName(REGISTRY_NAME);
}

export function playlistGateStub(env: Env, streamId: string): DurableObjectStub<PlaylistGate> {
  return env.PLAYLIST_GATE.getByName(streamId);
}
