import type { VideoEncoder } from "../transcoder/encoders";
import type { EventEmitter } from "node:events";
import { HEALTH_INTERVAL_SECONDS, type IngestEvent, type PartialPlaylistNotice, type PlaylistStoredNotice } from "../../workers/shared/ingest-api";
import { EdgeError, type EdgeClient, type SendOptions } from "../edge-client";
import type { BitrateOverrides } from "../ladder/ladder";
import type { Logger } from "../logger";
import type { Publisher, RtmpServer, RtmpServerEvents } from "../rtmp/rtmp-server";
import type { ObjectStore } from "../storage/object-store";
import type { SpeedMonitorOptions } from "../transcoder/speed-monitor";
import { HealthReporter } from "./health-reporter";
import { LiveSession, type StopReason } from "./live-session";
import { newSessionId } from "./session-id";

/**
 * Turns what publishers do into sessions, and what sessions do into edge events: one live session per
 * stream; "live" once the master is stored (with the renditions and the session's health: the ladder
 * decision among it), "health" every interval while live, "idle" once the final playlists are stored,
 * then "recording-ready" for a session the edge asked to record. A publisher leaving
 * suspends its session for the reconnect window: a publisher of the same stream arriving within it
 * continues the same session (same URLs, numbering continues after a discontinuity); after it, the
 * session ends. A second publisher while one is connected is refused, never a takeover: the one that
 * is streaming keeps its viewers, and two ffmpegs never write one stream. A session ending for any
 * other reason disconnects its publisher (OBS reconnects and gets a fresh session).
 */
export interface SessionManagerOptions {
  rtmp: EventEmitter<RtmpServerEvents> & Pick<RtmpServer, "playUrl" | "endPlayback">;
  edge: Pick<EdgeClient, "sendEvent" | "playlistStored" | "partialPlaylist">;
  store: ObjectStore;
  workDir: string;
  ladderOverrides: BitrateOverrides;
  /** x264 unless a hardware encoder passed its trial (transcoder/encoders.ts) */
  encoder?: VideoEncoder;
  logger: Logger;
  /** how long a session waits for its publisher to come back; 0 ends it at once */
  reconnectWindowMs: number;
  /** unstored segments per rendition held during a store outage */
  maxSpooledSegments?: number;
  /** how often a live session reports its health; HEALTH_INTERVAL_SECONDS unless said (tests) */
  healthIntervalMs?: number;
  /** when falling behind live means shedding rungs */
  speed?: SpeedMonitorOptions;
}

interface ActiveSession {
  session: LiveSession;
  /** null while the session waits for a reconnect */
  publisher: Publisher | null;
  sessionId: string;
  reconnectTimer: NodeJS.Timeout | null;
  /** bytes sent by this session's earlier publishers (before a reconnect) */
  earlierPublishersBytes: number;
}

/**
 * A recording's announcement waits out a longer edge outage than other events (0.5 s doubling: about 15 s
 * of retrying): nothing else would tell the edge the recording exists.
 */
export const RECORDING_READY_ATTEMPTS = 6;

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
    const waiting = this.active.get(streamId);
    if (waiting?.publisher === null) return this.resume(waiting, publisher);
    if (waiting) return publisher.close("publish refused: this stream is already live from another publisher");

    const sessionId = newSessionId();
    const session = new LiveSession({
      streamId,
      sessionId,
      playUrl: this.options.rtmp.playUrl(publisher.streamKey),
      endInput: () => this.options.rtmp.endPlayback(publisher.streamKey),
      workDir: this.options.workDir,
      store: this.options.store,
      ladderOverrides: this.options.ladderOverrides,
      encoder: this.options.encoder,
      logger: this.options.logger,
      maxSpooledSegments: this.options.maxSpooledSegments,
      record: publisher.record,
      speed: this.options.speed,
      inputBytes: () => inputBytes(),
      onPlaylistStored: (rendition, mediaSequence) => this.announcePlaylist({ streamId, sessionId, rendition, mediaSequence }),
      onPartialPlaylist: (rendition, update) => this.sendPartialPlaylist({ streamId, sessionId, rendition, ...update }),
    });
    // One event at a time per session: an "idle" overtaking a slow "live" would leave the stream shown live.
    let previous: Promise<void> = Promise.resolve();
    const notify = (event: IngestEvent, options?: SendOptions) => {
      const sent = previous.then(() => this.send(event, options)).finally(() => this.notifications.delete(sent));
      this.notifications.add(sent);
      previous = sent;
    };
    const entry: ActiveSession = { session, publisher, sessionId, reconnectTimer: null, earlierPublishersBytes: 0 };
    this.active.set(streamId, entry);
    // Every publisher of the session (a reconnect is a new connection, counting from 0).
    const inputBytes = () => entry.earlierPublishersBytes + (entry.publisher?.bytesReceived() ?? 0);
    // Health goes one attempt at a time: while one is still on its way (the edge is slow) the next is
    // skipped, so reports never pile up behind each other; a lost one is replaced by the next.
    let healthInFlight = false;
    const health = new HealthReporter({
      intervalMs: this.options.healthIntervalMs ?? HEALTH_INTERVAL_SECONDS * 1000,
      inputBytes,
      session: () => session.health(),
      report: (measured) => {
        if (healthInFlight) return;
        healthInFlight = true;
        const sent = previous.then(() => this.sendHealth({ streamId, sessionId, type: "health", health: measured })).finally(() => {
          healthInFlight = false;
          this.notifications.delete(sent);
        });
        this.notifications.add(sent);
        previous = sent;
      },
    });
    session.on("live", (renditions) => {
      notify({ streamId, sessionId, type: "live", renditions, ...optional("health", health.sample()) });
      health.start();
    });
    session.once("ended", (reason, recording) => {
      health.stop();
      this.active.delete(streamId);
      if (entry.reconnectTimer) clearTimeout(entry.reconnectTimer);
      if (reason !== "publisher-left") entry.publisher?.close(PUBLISHER_MESSAGES[reason]);
      notify({ streamId, sessionId, type: "idle" });
      // After "idle": the recording is whole only once the session has ended.
      if (recording) notify({ streamId, sessionId, type: "recording-ready", recording }, { attempts: RECORDING_READY_ATTEMPTS });
    });
    session.logger.info("session started");
    void session.start();
  };

  private readonly onLeft = (publisher: Publisher): void => {
    const entry = this.active.get(publisher.streamId);
    if (entry?.publisher?.id !== publisher.id) return;
    entry.earlierPublishersBytes += publisher.bytesReceived();
    entry.publisher = null;
    const windowMs = this.options.reconnectWindowMs;
    if (this.closing || windowMs <= 0) return void entry.session.stop("publisher-left");
    entry.session.logger.info({ reconnectWindowMs: windowMs }, "publisher left; waiting for it to reconnect");
    entry.reconnectTimer = setTimeout(() => void entry.session.stop("publisher-left"), windowMs);
    void entry.session.suspend();
  };

  private resume(entry: ActiveSession, publisher: Publisher): void {
    if (entry.reconnectTimer) clearTimeout(entry.reconnectTimer);
    entry.reconnectTimer = null;
    entry.publisher = publisher;
    entry.session.logger.info({ publishId: publisher.id }, "publisher reconnected; the session continues");
    void entry.session.resume({
      playUrl: this.options.rtmp.playUrl(publisher.streamKey),
      endInput: () => this.options.rtmp.endPlayback(publisher.streamKey),
    });
  }

  private async send(event: IngestEvent, options?: SendOptions): Promise<void> {
    const log = this.logger.child({ streamId: event.streamId, sessionId: event.sessionId, event: event.type });
    try {
      const outcome = await this.options.edge.sendEvent(event, options);
      if (outcome === "recorded") return log.info(`edge told: ${event.type}`);
      this.onRefused(event, outcome, log);
    } catch (error) {
      log.error({ err: error }, event.type === "recording-ready" ? "the edge was not told of the recording" : `the edge was not told this stream is ${event.type}`);
    }
  }

  /** One attempt, logged quietly: the next report replaces a lost one. */
  private async sendHealth(event: IngestEvent): Promise<void> {
    const log = this.logger.child({ streamId: event.streamId, sessionId: event.sessionId, event: event.type });
    try {
      const outcome = await this.options.edge.sendEvent(event, { attempts: 1 });
      if (outcome === "recorded") return log.debug({ health: event.health }, "edge told: health");
      this.onRefused(event, outcome, log);
    } catch (error) {
      log.warn({ err: error }, "health report lost; the next one replaces it");
    }
  }

  /**
   * Tells the edge a playlist was stored, so the players blocked on that segment get it now. Never
   * retried and logged quietly: during an edge outage there is one per segment and rendition, and a lost
   * one only makes those players wait for the next (or their own deadline).
   */
  private announcePlaylist(notice: PlaylistStoredNotice): void {
    const sent = this.options.edge
      .playlistStored(notice)
      .catch((error: unknown) => {
        const retryable = !(error instanceof EdgeError) || error.retryable;
        this.logger[retryable ? "debug" : "warn"]({ err: error, ...notice }, "the edge was not told of a stored playlist");
      })
      .finally(() => this.notifications.delete(sent));
    this.notifications.add(sent);
  }

  /**
   * Sends a rendition's LL-HLS playlist to the edge, which serves it from memory. One attempt: the next
   * part, half a second later, brings a newer one. Failures are quiet for the same reason as above.
   */
  private async sendPartialPlaylist(notice: PartialPlaylistNotice): Promise<void> {
    try {
      await this.options.edge.partialPlaylist(notice);
    } catch (error) {
      const retryable = !(error instanceof EdgeError) || error.retryable;
      this.logger[retryable ? "debug" : "warn"]({ err: error, streamId: notice.streamId, rendition: notice.rendition }, "the edge was not sent an LL playlist");
    }
  }

  private onRefused(event: IngestEvent, outcome: "revoked" | "unknown-stream", log: Logger): void {
    if (outcome === "unknown-stream") return log.error("the edge does not know this stream; was it deleted while live?");
    log.warn("the edge says the stream was revoked");
    const entry = this.active.get(event.streamId);
    if (entry?.sessionId === event.sessionId) void entry.session.stop("stream-revoked");
  }
}

/** { [key]: value } if there is a value, else nothing (the contract's optional fields are absent, not null). */
function optional<K extends string, V>(key: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: V };
}
