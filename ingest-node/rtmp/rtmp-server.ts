import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import NodeMediaServer, { type NmsSession } from "node-media-server";
import nmsContext from "node-media-server/src/core/context.js";
import nmsLogger from "node-media-server/src/core/logger.js";
import { STREAM_KEY_PATTERN } from "../../workers/shared/ingest-api";
import type { AuthorizeResult } from "../edge-client";
import { RtmpGuard } from "../guard/rtmp-guard";
import { redactStreamKey, redactStreamKeys, type Logger } from "../logger";

/**
 * The RTMP front door: node-media-server, told who may publish. A publish is admitted only after the edge
 * authorized its key, and nothing downstream (probe, ffmpeg, uploads) hears of it before that. Plays are
 * for our own ffmpeg only. Reconnect policy is not NMS's job here: the session manager owns it (issue 7).
 */
const RTMP_APP = "live";

export interface Publisher {
  /** NMS's session id */
  readonly id: string;
  readonly streamKey: string;
  readonly streamId: string;
  readonly remoteAddress: string;
  /** the edge asked for this publish's session to be kept as a recording */
  readonly record: boolean;
  /** Bytes this publisher has sent us so far (all of its connection's, RTMP framing included). */
  bytesReceived(): number;
  /** Disconnects the publisher, logging why. */
  close(reason: string): void;
}

export interface RtmpServerEvents {
  "publisher-admitted": [publisher: Publisher];
  "publisher-left": [publisher: Publisher];
}

export interface RtmpServerOptions {
  host: string;
  port: number;
  authorize: (streamKey: string) => Promise<AuthorizeResult>;
  logger: Logger;
  /** open connections allowed from one address (the guard's other limits are fixed) */
  maxConnectionsPerAddress?: number;
}

interface Claim {
  session: NmsSession;
  publisher?: Publisher;
  left: boolean;
}

/** node-media-server keeps its state in a per-process singleton: one server per process. */
let runningServer: RtmpServer | null = null;

export class RtmpServer extends EventEmitter<RtmpServerEvents> {
  private nms: NodeMediaServer | null = null;
  private storeDir: string | null = null;
  /** by stream path: a publish being authorized or admitted; released when NMS ends that publish */
  private readonly claims = new Map<string, Claim>();
  /** by stream path: our own ffmpeg/ffprobe connections playing it back */
  private readonly players = new Map<string, Set<NmsSession>>();
  private readonly logger: Logger;
  /** bounds what any connection can make NMS allocate before and after it publishes or plays */
  readonly guard: RtmpGuard;

  constructor(private readonly options: RtmpServerOptions) {
    super();
    this.logger = options.logger.child({ component: "rtmp" });
    this.guard = new RtmpGuard({ maxPerAddress: options.maxConnectionsPerAddress }, this.logger.child({ component: "rtmp-guard" }));
  }

  /** What OBS calls "Server". */
  get url(): string {
    return `rtmp://${urlHost(this.options.host)}:${this.options.port}/${RTMP_APP}`;
  }

  /** Where our own ffmpeg and ffprobe play a publish back from. */
  playUrl(streamKey: string): string {
    return `rtmp://${urlHost(this.playHost)}:${this.options.port}/${RTMP_APP}/${streamKey}`;
  }

  /**
   * Ends our own playback of a stream. To ffmpeg this is the end of its input, after which it finishes
   * its segments and playlists by itself; a signal alone does not get it out of a read that waits for a
   * publisher who has gone (or stalled).
   */
  endPlayback(streamKey: string): void {
    for (const session of this.players.get(`/${RTMP_APP}/${streamKey}`) ?? []) session.close();
  }

  async start(): Promise<void> {
    if (runningServer) throw new Error("an RTMP server already runs in this process (node-media-server allows one); stop it first");
    runningServer = this;
    try {
      await this.listen();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const emitter = nmsContext.eventEmitter;
    emitter.off("prePublish", this.onPrePublish);
    emitter.off("donePublish", this.onDonePublish);
    emitter.off("prePlay", this.onPrePlay);
    emitter.off("donePlay", this.onDonePlay);
    await this.nms?.stop();
    this.nms = null;
    this.claims.clear();
    this.players.clear();
    if (this.storeDir) await rm(this.storeDir, { recursive: true, force: true });
    this.storeDir = null;
    if (runningServer === this) runningServer = null;
  }

  private async listen(): Promise<void> {
    routeNmsLogs(this.logger.child({ component: "node-media-server" }));
    // NMS insists on a JSON store (relay tasks, history); a private temp dir, history off, so stream
    // paths (which carry keys) are never written to disk.
    this.storeDir = await mkdtemp(join(tmpdir(), "onair-nms-"));
    const nms = new NodeMediaServer({
      bind: this.options.host,
      rtmp: { port: this.options.port },
      store: { path: this.storeDir, maxHistory: 0 },
    });
    // By default the store hooks SIGINT/SIGTERM, flushes, and re-sends the signal to the process: that
    // would kill the ingest node in the middle of its own graceful shutdown.
    nms.store.options.signals = false;
    this.nms = nms;
    const emitter = nmsContext.eventEmitter;
    emitter.on("prePublish", this.onPrePublish);
    emitter.on("donePublish", this.onDonePublish);
    emitter.on("prePlay", this.onPrePlay);
    emitter.on("donePlay", this.onDonePlay);

    const tcp = nms.rtmpServer.tcpServer;
    if (!tcp) throw new Error(`node-media-server did not create an RTMP listener for port ${this.options.port}`);
    this.guard.install(tcp, nms.rtmpServer.handleRequest, () => nmsContext.sessions.values());
    const started = nms.run();
    // NMS's own listen-error handler exits the process; we report the failure to our caller instead.
    tcp.removeAllListeners("error");
    const listening = new Promise<void>((resolve, reject) => {
      tcp.once("listening", resolve);
      tcp.once("error", (error: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen for RTMP on ${this.options.host}:${this.options.port} (${error.code ?? error.message}); stop what uses that port or set ONAIR_RTMP_PORT`)),
      );
    });
    // The store opens either way; let it finish before a failed start is cleaned up.
    const [listened] = await Promise.allSettled([listening, started]);
    if (listened.status === "rejected") throw listened.reason;
    tcp.on("error", (error) => this.logger.error({ err: error }, "RTMP listener error"));
  }

  private readonly onPrePublish = (session: NmsSession): void => {
    // Without this NMS holds a dropped publisher's slot for 30 s and resumes a reconnect with the old
    // GOP cache, which a new session's ffmpeg would then encode first.
    session.broadcast.publishGraceMs = 0;
    // Even a 0 ms grace is a timer: a publisher reconnecting before it fires would be "resumed" by NMS
    // (timestamps shifted, no donePublish for the old one, so the session manager never hears it left).
    // The old publish ends for real here, first; the session manager's reconnect window takes over.
    if (session.broadcast.getPublishStatus() === "reconnecting") session.broadcast._finishPublish();
    const key = session.streamName;
    const log = this.logger.child({ publishId: session.id, key: redactStreamKey(key), remote: session.ip });
    const refuse = (reason: string) => {
      log.warn({ reason }, `publish refused: ${reason}`);
      disconnect(session);
    };
    if (session.streamApp !== RTMP_APP) return refuse(`unknown application; publish to ${this.url}`);
    if (!STREAM_KEY_PATTERN.test(key)) return refuse("malformed stream key; copy it from the studio (sk_ and 40 hex digits)");
    const current = this.claims.get(session.streamPath);
    if (current && nmsContext.sessions.has(current.session.id)) return refuse("this stream key is already publishing");
    // A well-formed publish: its first keyframe may arrive while the key is being checked.
    this.guard.establish(session);

    const claim: Claim = { session, left: false };
    this.claims.set(session.streamPath, claim);
    this.admit(claim, key, log, refuse).catch((error: unknown) => {
      log.error({ err: error }, "publish could not be started");
      disconnect(session);
    });
  };

  private async admit(claim: Claim, key: string, log: Logger, refuse: (reason: string) => void): Promise<void> {
    let result: AuthorizeResult;
    try {
      result = await this.options.authorize(key);
    } catch (error) {
      return refuse(`the stream key could not be checked: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (claim.left) return;
    if (!result.ok) return refuse(result.reason);
    const { session } = claim;
    const publisher: Publisher = {
      id: session.id,
      streamKey: key,
      streamId: result.streamId,
      remoteAddress: session.ip,
      record: result.record ?? false,
      // What the socket has read is exactly what the publisher sent, whatever NMS makes of it.
      bytesReceived: () => session.socket.bytesRead,
      close: (reason) => {
        log.warn({ streamId: result.streamId, reason }, `publisher disconnected: ${reason}`);
        disconnect(session);
      },
    };
    claim.publisher = publisher;
    log.info({ streamId: result.streamId, record: publisher.record }, "publish admitted");
    this.emit("publisher-admitted", publisher);
  }

  private readonly onDonePublish = (session: NmsSession): void => {
    const claim = this.claims.get(session.streamPath);
    if (claim?.session !== session) return;
    this.claims.delete(session.streamPath);
    claim.left = true;
    if (claim.publisher) this.emit("publisher-left", claim.publisher);
  };

  private readonly onPrePlay = (session: NmsSession): void => {
    const address = session.ip.replace(/:\d+$/, "");
    if (isLoopback(address) || address === this.playHost) {
      this.guard.establish(session);
      const players = this.players.get(session.streamPath) ?? new Set<NmsSession>();
      this.players.set(session.streamPath, players.add(session));
      return;
    }
    this.logger.warn({ remote: session.ip }, "play refused: only the ingest node's own ffmpeg may play streams back");
    disconnect(session);
  };

  private readonly onDonePlay = (session: NmsSession): void => {
    const players = this.players.get(session.streamPath);
    players?.delete(session);
    if (players?.size === 0) this.players.delete(session.streamPath);
  };

  private get playHost(): string {
    const { host } = this.options;
    return host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  }
}

/**
 * NMS relays every media message a connection sends to the players of its stream path, whether it is
 * the publisher or not, refused or not (a refused second publisher's frames reached our live ffmpeg).
 * So a connection we turn away goes silent at once, in the middle of the chunk being parsed, and is
 * destroyed rather than ended, which would keep reading until the peer closes.
 */
function disconnect(session: NmsSession): void {
  session.rtmp.onPacketCallback = () => {};
  session.socket.destroy();
}

function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** NMS logs with console.log, stream keys and all; its messages go through pino instead, keys redacted. */
function routeNmsLogs(logger: Logger): void {
  nmsLogger.log = (message: string, level = "info") => {
    const text = redactStreamKeys(message);
    if (level === "error") logger.error(text);
    else if (level === "warn") logger.warn(text);
    else logger.debug(text);
  };
}
