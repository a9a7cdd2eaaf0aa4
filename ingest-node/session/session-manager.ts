import type { EventEmitter } from "node:events";
import type { IngestEvent } from "../../workers/shared/ingest-api";
import type { EdgeClient } from "../edge-client";
import type { BitrateOverrides } from "../ladder/ladder";
import type { Logger } from "../logger";
import type { Publisher, RtmpServer, RtmpServerEvents } from "../rtmp/rtmp-server";
import type { ObjectStore } from "../storage/object-store";
import { LiveSession, type StopReason } from "./live-session";
import { newSessionId } from "./session-id";

/**
 * Turns what publishers do into sessions, and what sessions do into edge events: one live session per
 * stream; a publisher leaving stops its session; a session ending for any other reason disconnects its
 * publisher (OBS reconnects and gets a fresh session); "live" once the master is stored, "idle" once
 * the final playlists are. Issue 7's reconnect window and ffmpeg restarts belong here.
 */
export interface SessionManagerOptions {
  rtmp: EventEmitter<RtmpServerEvents> & Pick<RtmpServer, "playUrl" | "endPlayback">;
  edge: Pick<EdgeClient, "sendEvent">;
  store: ObjectStore;
  workDir: string;
  ladderOverrides: BitrateOverrides;
  logger: Logger;
}

interface ActiveSession {
  session: LiveSession;
  publisher: Publisher;
  sessionId: string;
}

const PUBLISHER_MESSAGES: Record<Exclude<StopReason, "publisher-left">, string> = {
  "source-stalled": "no media arrived for a while; reconnect to start a new session",
  "transcoder-exited": "transcoding stopped unexpectedly; reconnect to start a new session",
  "probe-failed": "the stream could not be read; send H.264 video (and AAC audio)",
  "start-failed": "the session could not start; see the ingest node's log",
  "stream-revoked": "the stream was revoked",
  shutdown: "the ingest node is shutting down",
};

export class SessionManager {
  private readonly active = new Map<string, ActiveSession>();
  private readonly notifications = new Set<Promise<void>>();
  private closing = false;
  private readonly logger: Logger;

  constructor(private readonly options: SessionManagerOptions) {
    this.logger = options.logger.child({ component: "sessions" });
    options.rtmp.on("publisher-admitted", this.onAdmitted);
    options.rtmp.on("publisher-left", this.onLeft);
  }

  /** Stops every session (final playlists stored, "idle" sent) and stops listening for publishers. */
  async stopAll(): Promise<void> {
    this.closing = true;
    this.options.rtmp.off("publisher-admitted", this.onAdmitted);
    this.options.rtmp.off("publisher-left", this.onLeft);
    await Promise.all([...this.active.values()].map(({ session }) => session.stop("shutdown")));
    await Promise.all(this.notifications);
  }

  private readonly onAdmitted = (publisher: Publisher): void => {
    const { streamId } = publisher;
    if (this.closing) return publisher.close(PUBLISHER_MESSAGES.shutdown);
    if (this.active.has(streamId)) return publisher.close("publish refused: this stream is already live from another publisher");

    const sessionId = newSessionId();
    const session = new LiveSession({
      streamId,
      sessionId,
      playUrl: this.options.rtmp.playUrl(publisher.streamKey),
      endInput: () => this.options.rtmp.endPlayback(publisher.streamKey),
      workDir: this.options.workDir,
      store: this.options.store,
      ladderOverrides: this.options.ladderOverrides,
      logger: this.options.logger,
    });
    this.active.set(streamId, { session, publisher, sessionId });
    // One event at a time per session: an "idle" overtaking a slow "live" would leave the stream shown live.
    let previous: Promise<void> = Promise.resolve();
    const notify = (event: IngestEvent) => {
      const sent = previous.then(() => this.send(event)).finally(() => this.notifications.delete(sent));
      this.notifications.add(sent);
      previous = sent;
    };
    session.on("live", (renditions) => notify({ streamId, sessionId, type: "live", renditions }));
    session.once("ended", (reason) => {
      this.active.delete(streamId);
      if (reason !== "publisher-left") publisher.close(PUBLISHER_MESSAGES[reason]);
      notify({ streamId, sessionId, type: "idle" });
    });
    session.logger.info("session started");
    void session.start();
  };

  private readonly onLeft = (publisher: Publisher): void => {
    const entry = this.active.get(publisher.streamId);
    if (entry?.publisher.id === publisher.id) void entry.session.stop("publisher-left");
  };

  private async send(event: IngestEvent): Promise<void> {
    const log = this.logger.child({ streamId: event.streamId, sessionId: event.sessionId, event: event.type });
    try {
      const outcome = await this.options.edge.sendEvent(event);
      if (outcome === "recorded") return log.info(`edge told: ${event.type}`);
      if (outcome === "unknown-stream") return log.error("the edge does not know this stream; was it deleted while live?");
      log.warn("the edge says the stream was revoked");
      const entry = this.active.get(event.streamId);
      if (entry?.sessionId === event.sessionId) void entry.session.stop("stream-revoked");
    } catch (error) {
      log.error({ err: error }, `the edge was not told this stream is ${event.type}`);
    }
  }
}
