import type { VideoEncoder } from "../transcoder/encoders";
import { EventEmitter } from "node:events";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { RecordingInfo } from "../../workers/shared/ingest-api";
import { chooseLadder, formatRational, renditionNames, type BitrateOverrides, type Ladder, type SourceInfo } from "../ladder/ladder";
import type { Logger } from "../logger";
import { partTargets } from "../packager/dash-output";
import { ProbeError, probeSource } from "../probe/source-probe";
import type { ObjectStore } from "../storage/object-store";
import { SpeedMonitor, type SpeedDecision, type SpeedMonitorOptions } from "../transcoder/speed-monitor";
import type { TranscodeProgress, TranscoderExit } from "../transcoder/transcoder";
import { SessionJournal } from "../uploader/journal";
import type { PartialPlaylistUpdate } from "../uploader/rendition-parts";
import { SessionUploader } from "../uploader/uploader";
import type { SessionHealth } from "./health-reporter";
import { StallWatch } from "./stall-watch";
import { TranscoderRun, type PublishInput } from "./transcoder-run";

/**
 * One stream's session, from its first probe to its last upload: probe -> ladder -> ffmpeg -> watcher ->
 * uploader. ffmpeg may come and go within it (a crash, a publisher's reconnect, a new ladder): each run
 * writes into a directory of its own and the uploader continues the same playlists across them, with a
 * discontinuity at each break (and a new init segment where the media changed). Each run's progress
 * goes to a SpeedMonitor: when encoding falls behind live, the session sheds the costliest rungs and
 * goes on with a new ffmpeg on the smaller ladder. Starts once, stops once, and says why it ended; the
 * session manager decides what that means for the publisher and the edge.
 */
export type StopReason =
  | "publisher-left"
  | "source-stalled"
  | "transcoder-exited"
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
  /** keep the whole session and store it as a recording when it ends (the edge's authorize says) */
  record?: boolean;
  /** when falling behind live means shedding rungs (transcoder/speed-monitor.ts) */
  speed?: SpeedMonitorOptions;
  /**
   * Bytes the session's publishers have sent so far. With it, a stall is the publisher sending nothing,
   * not ffmpeg being slow to report; without it, ffmpeg's silence stands for the publisher's.
   */
  inputBytes?: () => number;
  /** a rendition's playlist was stored, listing up to segment `mediaSequence` */
  onPlaylistStored?: (rendition: string, mediaSequence: number) => void;
  /** sends a rendition's LL-HLS playlist (parts) to the edge; without it, no parts are published */
  onPartialPlaylist?: (rendition: string, update: PartialPlaylistUpdate) => Promise<void>;
}

export interface LiveSessionEvents {
  /** the master playlist is stored */
  live: [renditions: string[]];
  /** recording: what a recorded session left in the store, once its final playlists are stored */
  ended: [reason: StopReason, recording: RecordingInfo | null];
}

const PROGRESS_LOG_INTERVAL_MS = 10_000;
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
  private source: SourceInfo | null = null;
  private ladder: Ladder | null = null;
  private uploader: SessionUploader | null = null;
  private run: TranscoderRun | null = null;
  /** the current run's: how far its encoding is behind live */
  private monitor: SpeedMonitor | null = null;
  /** rungs dropped this session to keep up with live, costliest first */
  private readonly shed: string[] = [];
  /** the uploader taking shed renditions out of the masters */
  private shedding: Promise<void> = Promise.resolve();
  private runs = 0;
  private wentLive = false;
  private readonly crashes: number[] = [];
  /** restarts, suspends and resumes, one at a time */
  private serial: Promise<void> = Promise.resolve();
  private lastProgressLog = 0;
  /**
   * A quiet publisher ends the session (it is disconnected and reconnects into a fresh one); a stuck
   * ffmpeg is replaced, counting as a crash.
   */
  private readonly stallWatch: StallWatch;

  constructor(private readonly options: LiveSessionOptions) {
    super();
    this.input = { playUrl: options.playUrl, endInput: options.endInput };
    this.logger = options.logger.child({ streamId: options.streamId, sessionId: options.sessionId });
    this.stallWatch = new StallWatch({
      inputBytes: options.inputBytes,
      onStalled: (silentMs) => {
        if (this.stopping || !this.run) return;
        this.logger.error({ silentMs }, "no media from the publisher; ending the session");
        void this.stop("source-stalled");
      },
      onStuck: (silentMs) => {
        const run = this.run;
        if (this.stopping || !run) return;
        this.logger.error({ silentMs }, "ffmpeg reports no progress while the publisher sends; replacing it");
        void this.onCrash(run, { code: null, signal: null, requested: false, detail: "no progress" });
      },
    });
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
   * the same input, with `ladder` if given. Its renditions must be the current ones or some of them (a
   * ladder shed to keep up with live: the others leave the master playlists). Where a rendition's media
   * changes, the uploader gives its segments from there on a new init segment.
   */
  restartTranscoder(reason: string, ladder?: Ladder): Promise<void> {
    const current = this.ladder && renditionNames(this.ladder);
    if (ladder && current && !renditionNames(ladder).every((name) => current.includes(name))) {
      return Promise.reject(new Error("a restarted ffmpeg must produce the session's renditions or some of them"));
    }
    return this.serially(async () => {
      if (!this.run) return;
      this.logger.warn({ reason }, "restarting ffmpeg");
      await this.endRun();
      if (ladder) this.changeLadder(ladder);
      await this.startRun();
    });
  }

  /** The studio's figures of this session (the manager adds the publisher's input rate); null before the probe. */
  health(): SessionHealth | null {
    const { ladder, source } = this;
    if (!ladder || !source) return null;
    // Between runs (a publisher reconnecting) nothing is being encoded.
    const encoding = this.run ? this.monitor?.current : undefined;
    return {
      inputFps: source.fps ? round(source.fps.num / source.fps.den, 2) : null,
      keyframeIntervalSeconds: keyframeInterval(source),
      encoderSpeed: encoding?.speed != null ? round(encoding.speed, 2) : null,
      lagSeconds: round(encoding?.lagSeconds ?? 0, 2),
      renditions: renditionNames(ladder),
      shed: [...this.shed],
      droppedSegments: this.uploader?.droppedSegments ?? 0,
      ladder: { topRung: ladder.top.passthrough ? "passthrough" : "transcoded", reason: ladder.top.reason },
    };
  }

  /** The publisher left: ffmpeg finishes what it has; the stored playlists stay open for a resume(). */
  suspend(): Promise<void> {
    return this.serially(async () => {
      this.stallWatch.stop();
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
        source: {
          width: source.width,
          height: source.height,
          fps: source.fps && formatRational(source.fps),
          audio: source.hasAudio,
          keyframeIntervalSeconds: keyframeInterval(source),
        },
        ladder: ladder.video.map((v) => `${v.name} ${v.width}x${v.height}@${formatRational(v.fps)} ${v.videoKbps}k`),
        topRung: ladder.top.reason,
      },
      "source probed, ladder chosen",
    );
    await mkdir(this.spoolDir, { recursive: true });
    const journal = new SessionJournal(this.spoolDir);
    await journal.describe({ streamId, sessionId, record: this.options.record ?? false, startedAt: new Date().toISOString() });
    signal.throwIfAborted();
    this.source = source;
    this.ladder = ladder;
    const uploader = new SessionUploader({
      store,
      streamId,
      sessionId,
      spoolDir: this.spoolDir,
      renditions,
      logger: this.logger,
      maxSpooledSegments: this.options.maxSpooledSegments,
      record: this.options.record,
      journal,
      onPlaylistStored: this.options.onPlaylistStored,
      parts: this.options.onPartialPlaylist && { targets: partTargets(ladder), publish: this.options.onPartialPlaylist },
    });
    // Rungs may have been shed before the master was first stored: the renditions as of now.
    uploader.on("live", () => {
      this.wentLive = true;
      void journal.markLive(new Date()).catch((error: unknown) => this.logger.warn({ err: error }, "session journal not updated"));
      this.emit("live", renditionNames(this.ladder ?? ladder));
    });
    this.uploader = uploader;
    await this.serially(() => this.startRun());
  }

  private async startRun(): Promise<void> {
    if (this.stopping || !this.ladder || !this.uploader) return;
    this.runs += 1;
    const run = new TranscoderRun({ dir: join(this.spoolDir, `run-${this.runs}`), ladder: this.ladder, input: this.input, uploader: this.uploader, logger: this.logger, encoder: this.options.encoder });
    // A monitor per run (each run has its own start-up delay); the shed list carries over.
    const monitor = new SpeedMonitor(this.ladder, this.options.speed, this.shed);
    run.on("progress", (progress) => this.onProgress(run, monitor, progress));
    run.once("crashed", (exit) => void this.onCrash(run, exit));
    this.run = run;
    this.monitor = monitor;
    await run.start();
    if (!this.stopping) this.stallWatch.start();
    if (this.runs > 1) this.logger.info({ run: this.runs, renditions: renditionNames(this.ladder) }, "ffmpeg started again; the playlists continue after a discontinuity");
  }

  /** promptly: ffmpeg is killed rather than left to encode what it still has queued */
  private async endRun(promptly = false): Promise<void> {
    const run = this.run;
    this.run = null;
    await run?.finish({ promptly });
  }

  /**
   * Encoding fell behind live: a new ffmpeg on the smaller ladder starts from the live edge. The old one
   * is killed, not left to encode its backlog (that would only add to the lag). The uploader hears of the
   * dropped renditions before the new ffmpeg starts, so the masters stop naming them.
   */
  private shedRungs(run: TranscoderRun, decision: Extract<SpeedDecision, { action: "shed" }>): Promise<void> {
    return this.serially(async () => {
      if (this.run !== run || this.stopping) return;
      this.logger.warn(
        { dropped: decision.dropped, lagSeconds: round(this.monitor?.current.lagSeconds ?? 0, 2), reason: decision.reason },
        `falling behind live; shedding rungs: ${decision.reason}`,
      );
      await this.endRun(true);
      this.changeLadder(decision.ladder);
      await this.startRun();
    });
  }

  /** To a ladder whose renditions are the current ones or some of them (restartTranscoder checked). */
  private changeLadder(ladder: Ladder): void {
    const next = renditionNames(ladder);
    const dropped = this.ladder ? renditionNames(this.ladder).filter((name) => !next.includes(name)) : [];
    this.ladder = ladder;
    if (dropped.length === 0 || !this.uploader) return;
    this.shed.push(...dropped);
    // Its synchronous part takes the renditions out of the uploads at once; the masters are rewritten
    // meanwhile, which may wait out a store outage: the new ffmpeg does not wait for that.
    const shedding = this.uploader
      .shedRenditions(dropped)
      .catch((error: unknown) => this.logger.error({ err: error, dropped }, "the master playlists may still name shed renditions"));
    this.shedding = Promise.all([this.shedding, shedding]).then(() => {});
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
    this.stallWatch.stop();
    let recording: RecordingInfo | null = null;
    try {
      await this.starting;
      const run = this.run;
      await this.serially(() => this.endRun());
      recording = await this.finishUploads();
      this.logger.info(
        { ...(this.shed.length > 0 ? { shed: this.shed } : {}), ffmpegRuns: this.runs, reason, ffmpegExit: run?.exit && { code: run.exit.code, signal: run.exit.signal } },
        "session ended",
      );
    } catch (error) {
      this.logger.error({ err: error, reason }, "session did not stop cleanly");
    } finally {
      await rm(this.spoolDir, { recursive: true, force: true }).catch(() => {});
      this.emit("ended", reason, recording);
    }
  }

  /** The recording, for a recorded session whose final playlists are all stored in time. */
  private async finishUploads(): Promise<RecordingInfo | null> {
    const uploader = this.uploader;
    if (!uploader) return null;
    const finished = Promise.all([this.shedding, uploader.endPlaylists()]).then(
      () => true,
      (error: unknown) => {
        this.logger.error({ err: error }, "final playlists not stored");
        return false;
      },
    );
    const outcome = await withTimeout(finished, FINAL_UPLOAD_TIMEOUT_MS);
    if (outcome === null) {
      uploader.cancel();
      this.logger.error("final uploads did not finish in time; the stored playlists may not say the stream ended");
    }
    if (!this.options.record) return null;
    if (!this.wentLive) {
      this.logger.info("nothing recorded: the session never went live");
      return null;
    }
    const recording = outcome ? uploader.recording() : null;
    if (recording) this.logger.info({ recording }, "recording stored");
    else this.logger.error("this session was to be recorded, but its whole-session playlists are not all stored");
    return recording;
  }

  private onProgress(run: TranscoderRun, monitor: SpeedMonitor, progress: TranscodeProgress): void {
    // A run being replaced may still report; its figures no longer matter.
    if (run !== this.run) return;
    const now = Date.now();
    this.stallWatch.progress(now);
    const decision = monitor.observe(progress, now);
    if (decision.action === "shed") void this.shedRungs(run, decision);
    if (now - this.lastProgressLog < PROGRESS_LOG_INTERVAL_MS) return;
    this.lastProgressLog = now;
    const { speed, lagSeconds } = monitor.current;
    this.logger.info({ ...progress, recentSpeed: speed === null ? null : round(speed, 2), lagSeconds: round(lagSeconds, 2) }, "transcoding");
  }
}

/** The longest keyframe interval the probe saw; null if it saw fewer than two keyframes. */
function keyframeInterval(source: SourceInfo): number | null {
  const intervals = source.keyframes?.intervalsSeconds ?? [];
  return intervals.length > 0 ? Math.max(...intervals) : null;
}

function round(n: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}

/** what work settled with, or null if it did not within timeoutMs */
async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
