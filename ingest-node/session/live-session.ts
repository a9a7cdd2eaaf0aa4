import { EventEmitter } from "node:events";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { chooseLadder, formatRational, renditionNames, type BitrateOverrides } from "../ladder/ladder";
import type { Logger } from "../logger";
import { SegmentWatcher } from "../packager/segment-watcher";
import { ProbeError, probeSource } from "../probe/source-probe";
import type { ObjectStore } from "../storage/object-store";
import { buildFfmpegInvocation } from "../transcoder/ffmpeg-args";
import { Transcoder, type TranscodeProgress } from "../transcoder/transcoder";
import { SessionUploader } from "../uploader/uploader";

/**
 * One publish, from its first probe to its last upload: probe -> ladder -> ffmpeg -> watcher -> uploader.
 * Starts once, stops once, and says why it ended; the session manager decides what that means for the
 * publisher and the edge.
 */
export type StopReason =
  | "publisher-left"
  | "source-stalled"
  | "transcoder-exited"
  | "probe-failed"
  | "start-failed"
  | "stream-revoked"
  | "shutdown";

export interface LiveSessionOptions {
  streamId: string;
  sessionId: string;
  /** our RTMP play URL of the publish */
  playUrl: string;
  /** ends ffmpeg's input (its RTMP playback), so that it finishes by itself */
  endInput: () => void;
  /** parent of every session's spool directory */
  workDir: string;
  store: ObjectStore;
  ladderOverrides: BitrateOverrides;
  logger: Logger;
}

export interface LiveSessionEvents {
  /** the master playlist is stored */
  live: [renditions: string[]];
  ended: [reason: StopReason];
}

const PROGRESS_LOG_INTERVAL_MS = 10_000;
/**
 * ffmpeg reports progress twice a second while media flows. A publisher that stops sending but keeps its
 * connection open blocks ffmpeg's read silently (its -rw_timeout does not cover RTMP input), so silence
 * this long ends the session; the publisher is disconnected and reconnects into a fresh one.
 */
const STALL_TIMEOUT_MS = 15_000;
/** How long final uploads may take once the publish is over: within the 10 s a supervisor gives a SIGTERM. */
const FINAL_UPLOAD_TIMEOUT_MS = 6000;

export class LiveSession extends EventEmitter<LiveSessionEvents> {
  readonly logger: Logger;
  private readonly abortStart = new AbortController();
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private transcoder: Transcoder | null = null;
  private watcher: SegmentWatcher | null = null;
  private uploader: SessionUploader | null = null;
  private lastProgressLog = 0;
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LiveSessionOptions) {
    super();
    this.logger = options.logger.child({ streamId: options.streamId, sessionId: options.sessionId });
  }

  private get spoolDir(): string {
    return join(this.options.workDir, this.options.streamId, this.options.sessionId);
  }

  start(): Promise<void> {
    this.starting ??= this.startPipeline().catch((error: unknown) => {
      if (this.abortStart.signal.aborted) return;
      this.logger.error({ err: error }, `session failed to start: ${error instanceof Error ? error.message : String(error)}`);
      void this.stop(error instanceof ProbeError ? "probe-failed" : "start-failed");
    });
    return this.starting;
  }

  /** Idempotent; resolves once ffmpeg has exited and the final playlists are stored (or given up on). */
  stop(reason: StopReason): Promise<void> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async startPipeline(): Promise<void> {
    const { playUrl, store, streamId, sessionId } = this.options;
    const signal = this.abortStart.signal;
    const source = await probeSource(playUrl, { signal });
    const ladder = chooseLadder(source, this.options.ladderOverrides);
    const renditions = renditionNames(ladder);
    this.logger.info(
      {
        source: { width: source.width, height: source.height, fps: source.fps && formatRational(source.fps), audio: source.hasAudio },
        ladder: ladder.video.map((v) => `${v.name} ${v.width}x${v.height}@${formatRational(v.fps)} ${v.videoKbps}k`),
      },
      "source probed, ladder chosen",
    );
    await mkdir(this.spoolDir, { recursive: true });
    signal.throwIfAborted();

    const uploader = new SessionUploader({ store, streamId, sessionId, spoolDir: this.spoolDir, renditions, logger: this.logger });
    uploader.on("live", () => this.emit("live", renditions));
    this.uploader = uploader;
    this.watcher = new SegmentWatcher({
      dir: this.spoolDir,
      renditions,
      onPlaylist: (rendition, text) => uploader.offerPlaylist(rendition, text),
      onMaster: (text) => uploader.offerMaster(text),
      logger: this.logger,
    });
    const transcoder = new Transcoder(buildFfmpegInvocation({ inputUrl: playUrl, outputDir: this.spoolDir, ladder }), this.logger);
    transcoder.on("progress", (progress) => this.onProgress(progress));
    transcoder.on("exit", (exit) => {
      if (exit.requested) return;
      this.logger.error({ code: exit.code, signal: exit.signal, detail: exit.detail }, "ffmpeg exited on its own");
      void this.stop("transcoder-exited");
    });
    this.transcoder = transcoder;
    transcoder.run();
    this.watchForStall();
    this.watcher.start();
  }

  private async shutdown(reason: StopReason): Promise<void> {
    this.logger.info({ reason }, "session stopping");
    this.abortStart.abort();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    try {
      await this.starting;
      this.options.endInput();
      const exit = await this.transcoder?.stop();
      await this.watcher?.stop();
      await this.finishUploads();
      this.logger.info({ reason, ffmpegExit: exit && { code: exit.code, signal: exit.signal } }, "session ended");
    } catch (error) {
      this.logger.error({ err: error, reason }, "session did not stop cleanly");
    } finally {
      await rm(this.spoolDir, { recursive: true, force: true }).catch(() => {});
      this.emit("ended", reason);
    }
  }

  /** A clean ffmpeg exit wrote EXT-X-ENDLIST itself; endPlaylists also covers a killed or crashed one. */
  private async finishUploads(): Promise<void> {
    const uploader = this.uploader;
    if (!uploader) return;
    const finished = uploader.endPlaylists().then(
      () => true,
      (error: unknown) => {
        this.logger.error({ err: error }, "final playlists not stored");
        return true;
      },
    );
    if (!(await withTimeout(finished, FINAL_UPLOAD_TIMEOUT_MS))) {
      uploader.cancel();
      this.logger.error("final uploads did not finish in time; the stored playlists may not say the stream ended");
    }
  }

  private watchForStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    if (this.stopping) return;
    this.stallTimer = setTimeout(() => {
      this.logger.error({ silentMs: STALL_TIMEOUT_MS }, "no media from the publisher; ending the session");
      void this.stop("source-stalled");
    }, STALL_TIMEOUT_MS);
  }

  private onProgress(progress: TranscodeProgress): void {
    this.watchForStall();
    const now = Date.now();
    if (now - this.lastProgressLog < PROGRESS_LOG_INTERVAL_MS) return;
    this.lastProgressLog = now;
    this.logger.info(progress, "transcoding");
  }
}

/** false if work did not settle within timeoutMs */
async function withTimeout(work: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
