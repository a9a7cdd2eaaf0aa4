import type { VideoEncoder } from "../transcoder/encoders";
import { EventEmitter } from "node:events";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { chooseLadder, formatRational, renditionNames, type BitrateOverrides, type Ladder } from "../ladder/ladder";
import type { Logger } from "../logger";
import { ProbeError, probeSource } from "../probe/source-probe";
import type { ObjectStore } from "../storage/object-store";
import type { TranscodeProgress, TranscoderExit } from "../transcoder/transcoder";
import { SessionUploader } from "../uploader/uploader";
import { TranscoderRun, type PublishInput } from "./transcoder-run";

/**
 * One stream's session, from its first probe to its last upload: probe -> ladder -> ffmpeg -> watcher ->
 * uploader. ffmpeg may come and go within it (a crash, a publisher's reconnect, a new ladder): each run
 * writes into a directory of its own and the uploader continues the same playlists across them, with a
 * discontinuity at each break. Starts once, stops once, and says why it ended; the session manager
 * decides what that means for the publisher and the edge.
 */
export type StopReason =
  | "publisher-left"
  | "source-stalled"
  | "transcoder-exited"
  | "format-changed"
  | "probe-failed"
  | "start-failed"
  | "stream-revoked"
  | "shutdown";

export interface LiveSessionOptions extends PublishInput {
  streamId: string;
  sessionId: string;
  /** parent of every session's spool directory */
  workDir: string;
  store: ObjectStore;
  ladderOverrides: BitrateOverrides;
  encoder?: VideoEncoder;
  logger: Logger;
  /** unstored segments per rendition the spool holds during a store outage */
  maxSpooledSegments?: number;
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
/** ffmpeg crashing this often is not a hiccup: the session ends instead of restarting it forever. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

export class LiveSession extends EventEmitter<LiveSessionEvents> {
  readonly logger: Logger;
  private readonly abortStart = new AbortController();
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private input: PublishInput;
  private ladder: Ladder | null = null;
  private uploader: SessionUploader | null = null;
  private run: TranscoderRun | null = null;
  private runs = 0;
  private readonly crashes: number[] = [];
  /** restarts, suspends and resumes, one at a time */
  private serial: Promise<void> = Promise.resolve();
  private lastProgressLog = 0;
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LiveSessionOptions) {
    super();
    this.input = { playUrl: options.playUrl, endInput: options.endInput };
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

  /**
   * Replaces ffmpeg within the session: the old one finishes (or is already dead), a new one starts on
   * the same input, with `ladder` if given. Its renditions must be the current ones, and each rendition's
   * init segment must come out byte-identical (the layout has one init.mp4 per rendition and session);
   * otherwise the uploader reports a format change and the session ends.
   */
  restartTranscoder(reason: string, ladder?: Ladder): Promise<void> {
    if (ladder && this.ladder && renditionNames(ladder).join() !== renditionNames(this.ladder).join()) {
      return Promise.reject(new Error("a restarted ffmpeg must produce the session's renditions"));
    }
    return this.serially(async () => {
      if (!this.run) return;
      this.logger.warn({ reason }, "restarting ffmpeg");
      await this.endRun();
      if (ladder) this.ladder = ladder;
      await this.startRun();
    });
  }

  /** The publisher left: ffmpeg finishes what it has; the stored playlists stay open for a resume(). */
  suspend(): Promise<void> {
    return this.serially(async () => {
      if (this.stallTimer) clearTimeout(this.stallTimer);
      await this.endRun();
    });
  }

  /** A publisher is back (suspend() came first): a new ffmpeg continues the same playlists. */
  resume(input: PublishInput): Promise<void> {
    return this.serially(async () => {
      this.input = input;
      if (!this.run) await this.startRun();
    });
  }

  private async startPipeline(): Promise<void> {
    const { store, streamId, sessionId } = this.options;
    const signal = this.abortStart.signal;
    const source = await probeSource(this.input.playUrl, { signal });
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
    this.ladder = ladder;
    const uploader = new SessionUploader({
      store, streamId, sessionId, spoolDir: this.spoolDir, renditions, logger: this.logger, maxSpooledSegments: this.options.maxSpooledSegments,
    });
    uploader.on("live", () => this.emit("live", renditions));
    this.uploader = uploader;
    await this.serially(() => this.startRun());
  }

  private async startRun(): Promise<void> {
    if (this.stopping || !this.ladder || !this.uploader) return;
    this.runs += 1;
    const run = new TranscoderRun({ dir: join(this.spoolDir, `run-${this.runs}`), ladder: this.ladder, input: this.input, uploader: this.uploader, logger: this.logger, encoder: this.options.encoder });
    run.on("progress", (progress) => this.onProgress(progress));
    run.once("crashed", (exit) => void this.onCrash(run, exit));
    this.run = run;
    await run.start();
    this.watchForStall();
    if (this.runs > 1) this.logger.info({ run: this.runs }, "ffmpeg started again; the playlists continue after a discontinuity");
  }

  private async endRun(): Promise<void> {
    const run = this.run;
    this.run = null;
    await run?.finish();
  }

  private async onCrash(run: TranscoderRun, exit: TranscoderExit): Promise<void> {
    // A clean exit means its input ended: the publisher is leaving, and the session manager says what
    // next (suspend or stop; the stall timer still runs in case neither comes).
    if (exit.code === 0) return;
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes[0]! < now - CRASH_WINDOW_MS) this.crashes.shift();
    if (this.crashes.length > MAX_CRASHES) return void this.stop("transcoder-exited");
    await this.serially(async () => {
      if (this.run !== run) return;
      await this.endRun();
      await this.startRun();
    });
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const next = this.serial.then(step);
    this.serial = next.catch((error: unknown) => {
      this.logger.error({ err: error }, "ffmpeg could not be (re)started");
      void this.stop("start-failed");
    });
    return next;
  }

  private async shutdown(reason: StopReason): Promise<void> {
    this.logger.info({ reason }, "session stopping");
    this.abortStart.abort();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    try {
      await this.starting;
      const run = this.run;
      await this.serially(() => this.endRun());
      await this.finishUploads();
      this.logger.info({ ffmpegRuns: this.runs, reason, ffmpegExit: run?.exit && { code: run.exit.code, signal: run.exit.signal } }, "session ended");
    } catch (error) {
      this.logger.error({ err: error, reason }, "session did not stop cleanly");
    } finally {
      await rm(this.spoolDir, { recursive: true, force: true }).catch(() => {});
      this.emit("ended", reason);
    }
  }

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
    if (this.stopping || !this.run) return;
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
