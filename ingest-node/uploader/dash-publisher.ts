import { TARGET_DURATION_SECONDS } from "../../workers/shared/cache-policy";
import { DASH_TIME_PATH, dashManifestKey } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import { renderDashManifest, type DashInit, type DashRunClock, type DashSegment, type SegmentMedia } from "../packager/dash-manifest";
import { fragmentTiming, initTiming, trackFacts } from "../packager/mp4-boxes";
import type { ObjectStore } from "../storage/object-store";
import { putMedia } from "./put-media";
import { Backoff, pause } from "./retry";

/**
 * The stream's live DASH manifest, rendered (packager/dash-manifest.ts) from the same stored windows as
 * the HLS playlists, so it never names a segment that is not stored. It starts once the stream's master
 * is out and follows every playlist put after that, paced for R2. What it needs besides the windows is
 * read here as media is stored: each init segment's timescale and track, each segment's decode time and
 * duration, and where on the wall clock each ffmpeg run's media starts.
 */
export interface DashPublisherOptions {
  store: ObjectStore;
  streamId: string;
  sessionId: string;
  logger: Logger;
  /** cancels pacing and retries: what is not stored yet stays unstored */
  signal: AbortSignal;
  /** the wall clock the timeline is anchored to (tests fix it) */
  now: () => number;
  /** segments a rendition's live window holds: the MPD's time-shift buffer */
  windowSegments: number;
  /** what to render, read at each render */
  windows: () => StoredWindows;
}

export interface StoredWindows {
  /** the renditions in the masters, each with its stored live window */
  renditions: readonly { name: string; segments: readonly DashSegment[] }[];
  /** the session is over and every segment offered is stored: the last MPD, with its duration */
  ended: boolean;
}

/** How far behind the live edge DASH players play: three segments, as HLS players hold back. */
const PRESENTATION_DELAY_SEGMENTS = 3;
/**
 * R2 takes about one write a second to one key, and every rendition's playlist of a segment is stored
 * within a moment of the others': the MPD waits that moment, and is put at most once a second.
 */
const SETTLE_MS = 250;
const MIN_INTERVAL_MS = 1000;

/** What the MPD says of a stored init file, and the sample duration its segments' boxes may leave out. */
type InitFacts = DashInit & { defaultSampleDuration: number };

export class DashPublisher {
  /** per rendition, per stored init file: its facts, or null if its boxes could not be read */
  private readonly inits = new Map<string, Map<string, InitFacts | null>>();
  /** per ffmpeg run (its directory), in order: where its media sits on the timeline */
  private readonly runClocks = new Map<string, DashRunClock & { extentMs: number }>();
  private availabilityStartMs: number | null = null;
  private started = false;
  private dirty = false;
  private publishing: Promise<void> | null = null;
  /** Date.now() of the last put: pacing is real time, whatever clock the MPD is anchored to */
  private lastPut = 0;

  constructor(private readonly options: DashPublisherOptions) {}

  /** The publish under way, if any. */
  get inFlight(): Promise<void> | null {
    return this.publishing;
  }

  /** Reads a stored init file's facts; if its boxes cannot be read (logged), its segments stay out of the MPD. */
  readInit(rendition: string, file: string, bytes: Uint8Array): void {
    let facts: InitFacts | null = null;
    try {
      facts = { ...initTiming(bytes), track: trackFacts(bytes) };
    } catch (error) {
      this.options.logger.warn({ err: error, rendition }, "init segment unreadable: its segments stay out of the DASH manifest");
    }
    if (!this.inits.has(rendition)) this.inits.set(rendition, new Map());
    this.inits.get(rendition)!.set(file, facts);
  }

  /** A segment's decode time, duration and size; null (never listed) if its boxes or its init's cannot be read. */
  readSegment(rendition: string, initFile: string, bytes: Uint8Array): SegmentMedia | null {
    const init = this.inits.get(rendition)?.get(initFile);
    if (!init) return null;
    try {
      const timing = fragmentTiming(bytes, init.defaultSampleDuration);
      return timing.duration > 0 ? { ...timing, bytes: bytes.byteLength } : null;
    } catch {
      return null;
    }
  }

  /**
   * Places a run on the timeline when its first segment is stored: its media started that segment's
   * duration before now, so no segment is ever announced before it is stored (the edge of the MPD's
   * timeline is where players play from). Never before the end of the run before it. Later segments of
   * the run only extend it.
   */
  /**
   * Where a stored segment starts on the wall clock: its run's place on the MPD's timeline plus its decode
   * time within the run. The same for every rendition of a run, so HLS players can line renditions up by it
   * (EXT-X-PROGRAM-DATE-TIME). null before its run is anchored (anchorRun) or if its init was unreadable.
   */
  wallClockMs(run: string, rendition: string, initFile: string, media: SegmentMedia): number | null {
    const clock = this.runClocks.get(run);
    const init = this.inits.get(rendition)?.get(initFile);
    if (!clock || !init || this.availabilityStartMs === null) return null;
    const sinceRunStart = media.decodeTime / init.timescale - clock.originTime / clock.originTimescale;
    return Math.round(this.availabilityStartMs + clock.startMs + sinceRunStart * 1000);
  }

  /** A segment's (or part's) length in seconds; null if its init was unreadable. */
  durationSeconds(rendition: string, initFile: string, media: SegmentMedia): number | null {
    const init = this.inits.get(rendition)?.get(initFile);
    return init ? media.duration / init.timescale : null;
  }

  anchorRun(run: string, rendition: string, initFile: string, media: SegmentMedia): void {
    const { timescale } = this.inits.get(rendition)!.get(initFile)!;
    const known = this.runClocks.get(run);
    if (known) {
      const end = Math.round(((media.decodeTime + media.duration) / timescale - known.originTime / known.originTimescale) * 1000);
      known.extentMs = Math.max(known.extentMs, end);
      return;
    }
    const anchorMs = Math.round(this.options.now() - (media.duration / timescale) * 1000);
    this.availabilityStartMs ??= anchorMs;
    const previous = [...this.runClocks.values()].at(-1);
    const startMs = Math.max(anchorMs - this.availabilityStartMs, previous ? previous.startMs + previous.extentMs : 0);
    const extentMs = Math.round((media.duration / timescale) * 1000);
    // Period ids name the session too: a player that outlives the session never mistakes its Periods.
    const id = `${this.options.sessionId}-${this.runClocks.size + 1}`;
    this.runClocks.set(run, { run, id, startMs, originTime: media.decodeTime, originTimescale: timescale, extentMs });
  }

  /** The stream's master is out: players may look for the MPD, so it is published from now on. */
  start(): void {
    this.started = true;
    void this.publish();
  }

  /**
   * Stores the MPD once more, as the stored windows changed; one put at a time, the newest state wins.
   * Resolves once the publish under way (if any) is over.
   */
  publish(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.dirty = true;
    this.publishing ??= this.publishWhileDirty().finally(() => {
      this.publishing = null;
      // Dirtied after the loop's last look but before this ran: go again.
      if (this.dirty && !this.options.signal.aborted) void this.publish();
    });
    return this.publishing;
  }

  private async publishWhileDirty(): Promise<void> {
    const { signal, logger } = this.options;
    const backoff = new Backoff();
    while (this.dirty && !signal.aborted) {
      const wait = Math.max(SETTLE_MS, this.lastPut + MIN_INTERVAL_MS - Date.now());
      if (!(await pause(wait, signal))) return;
      this.dirty = false;
      const text = this.render();
      if (text === null) continue;
      this.lastPut = Date.now();
      try {
        await putMedia(this.options.store, dashManifestKey(this.options.streamId), Buffer.from(text), "dash-manifest");
        backoff.reset();
      } catch (error) {
        if (signal.aborted) return;
        this.dirty = true;
        const delay = backoff.next();
        logger.warn({ err: error, attempt: backoff.attempt, nextDelayMs: delay }, "DASH manifest not stored; retrying");
        if (!(await pause(delay, signal))) return;
      }
    }
  }

  /** The MPD, or null while there is nothing to list. */
  private render(): string | null {
    if (this.availabilityStartMs === null) return null;
    const { renditions, ended } = this.options.windows();
    return renderDashManifest({
      sessionId: this.options.sessionId,
      availabilityStartMs: this.availabilityStartMs,
      publishMs: this.options.now(),
      segmentSeconds: TARGET_DURATION_SECONDS,
      timeShiftBufferSeconds: this.options.windowSegments * TARGET_DURATION_SECONDS,
      presentationDelaySeconds: PRESENTATION_DELAY_SEGMENTS * TARGET_DURATION_SECONDS,
      ended,
      utcTimingUrl: DASH_TIME_PATH,
      clocks: [...this.runClocks.values()],
      renditions: renditions.map(({ name, segments }) => ({ name, segments, inits: this.readableInits(name) })),
    });
  }

  private readableInits(rendition: string): Map<string, InitFacts> {
    const inits = [...(this.inits.get(rendition) ?? [])];
    return new Map(inits.filter((entry): entry is [string, InitFacts] => entry[1] !== null));
  }
}
