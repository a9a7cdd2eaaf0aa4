import { chooseEncoder } from "./transcoder/encoders";
import type { IngestConfig } from "./config";
import { EdgeClient } from "./edge-client";
import type { Logger } from "./logger";
import { RtmpServer } from "./rtmp/rtmp-server";
import { SessionManager } from "./session/session-manager";
import type { ObjectStore } from "./storage/object-store";

/** The assembled ingest node: RTMP server, edge client and session manager over a given store. */
export interface IngestNode {
  /** what OBS calls "Server" */
  rtmpUrl: string;
  /** Stops every session (final playlists stored, "idle" sent), then the RTMP server. The store stays open. */
  stop(): Promise<void>;
}

export async function startIngestNode(config: IngestConfig, deps: { store: ObjectStore; logger: Logger }): Promise<IngestNode> {
  // Chosen once per process: a hardware encoder is used only after it passed a trial encode here.
  const { encoder } = await chooseEncoder(deps.logger);
  const edge = new EdgeClient({ baseUrl: config.edge.url, secret: config.edge.secret });
  const rtmp = new RtmpServer({ ...config.rtmp, authorize: (streamKey) => edge.authorize(streamKey), logger: deps.logger });
  const sessions = new SessionManager({
    rtmp,
    edge,
    store: deps.store,
    workDir: config.workDir,
    ladderOverrides: config.ladderOverrides,
    encoder,
    logger: deps.logger,
    reconnectWindowMs: config.reconnectWindowSeconds * 1000,
    maxSpooledSegments: config.spoolMaxSegments,
  });
  await rtmp.start();
  return {
    rtmpUrl: rtmp.url,
    async stop() {
      await sessions.stopAll();
      await rtmp.stop();
    },
  };
}
