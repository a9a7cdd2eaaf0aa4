import { chooseEncoder, type VideoEncoder } from "./transcoder/encoders";
import type { SpeedMonitorOptions } from "./transcoder/speed-monitor";
import type { IngestConfig } from "./config";
import { EdgeClient } from "./edge-client";
import type { Logger } from "./logger";
import { RtmpServer } from "./rtmp/rtmp-server";
import { endOrphanedSessions, findOrphanedSessions } from "./session/orphan-recovery";
import { SessionManager } from "./session/session-manager";
import type { ObjectStore } from "./storage/object-store";

/** The assembled ingest node: RTMP server, edge client and session manager over a given store. */
export interface IngestNode {
  /** what OBS calls "Server" */
  rtmpUrl: string;
  /** Stops every session (final playlists stored, "idle" sent), then the RTMP server. The store stays open. */
  stop(): Promise<void>;
}

export interface IngestNodeDeps {
  store: ObjectStore;
  logger: Logger;
  /** instead of the one chooseEncoder picks (tests: an encoder too slow for the machine) */
  encoder?: VideoEncoder;
  /** instead of HEALTH_INTERVAL_SECONDS (tests) */
  healthIntervalMs?: number;
  /** when falling behind live means shedding rungs */
  speed?: SpeedMonitorOptions;
}

export async function startIngestNode(config: IngestConfig, deps: IngestNodeDeps): Promise<IngestNode> {
  // Chosen once per process: a hardware encoder is used only after it passed a trial encode here.
  const encoder = deps.encoder ?? (await chooseEncoder(deps.logger)).encoder;
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
    healthIntervalMs: deps.healthIntervalMs,
    speed: deps.speed,
  });
  // Listed before publishers can start new sessions: whatever is on disk now, a dead process left.
  const orphans = await findOrphanedSessions(config.workDir);
  await rtmp.start();
  const recovery = endOrphanedSessions(orphans, { workDir: config.workDir, store: deps.store, edge, logger: deps.logger });
  return {
    rtmpUrl: rtmp.url,
    async stop() {
      await recovery;
      await sessions.stopAll();
      await rtmp.stop();
    },
  };
}
