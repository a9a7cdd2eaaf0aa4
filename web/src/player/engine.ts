/**
 * One live HLS playback on one <video>: hls.js wherever Media Source Extensions exist, the browser's own
 * HLS only where they do not (iPhone Safari before iOS 17.1). Chromium also answers "maybe" to
 * canPlayType("application/vnd.apple.mpegurl"), so hls.js must be checked first or it would never be used.
 *
 * hls.js is loaded with a dynamic import: pages that show an offline stream never download it.
 */
import type Hls from "hls.js";
import type { ErrorData, HlsConfig, Level } from "hls.js";

export type EngineMode = "hls.js" | "native";

export interface QualityOption {
  /** hls.js level index; -1 is Auto. */
  index: number;
  height: number;
  bitrate: number;
}

export interface EngineEvents {
  /** The list of qualities is known (after the master playlist). */
  levels: QualityOption[];
  /** The quality being played changed (height of the level now on screen). */
  level: { height: number; auto: boolean };
  /** The stream ended: the playlist was closed (ENDLIST) and playback reached its end. */
  ended: void;
  /** Playback can't continue without starting over; `network` when the media could not be fetched. */
  fatal: { kind: "network" | "media" | "other"; details: string; httpStatus?: number };
}

type Listener<T> = (payload: T) => void;

/**
 * Live-tuned hls.js settings. The edge publishes LL-HLS parts (EXT-X-PART, half a second each): with
 * lowLatencyMode hls.js plays PART-HOLD-BACK (three parts, about 1.6 s) behind the live edge, asks for
 * each next part with a blocking reload, and loads parts instead of whole segments. No
 * liveSyncDuration(Count) here: set, it would override PART-HOLD-BACK; a playlist without parts gets hls.js's
 * default of 3 segments. After a stall hls.js moves the target back by 1 s at a time (at most a
 * segment), so a slow network settles at a safe distance instead of stalling repeatedly. Drift is caught
 * up by playing up to 1.5x faster (pitch is kept): at 1.1x, a player a second late after a stall takes
 * ten seconds to return to the target. (No liveMaxLatencyDurationCount either: hls.js refuses it without
 * liveSyncDurationCount.)
 * Only 30 s of played media is kept in memory.
 */
export const LIVE_HLS_CONFIG: Partial<HlsConfig> = {
  debug: false,
  enableWorker: true,
  lowLatencyMode: true,
  liveSyncOnStallIncrease: 1,
  maxLiveSyncPlaybackRate: 1.5,
  backBufferLength: 30,
  maxBufferLength: 12,
  // Auto start level: chosen from hls.js's default bandwidth estimate (a lower rung), then ABR moves up.
  startLevel: -1,
  capLevelToPlayerSize: false,
  // Keep retrying a live manifest that is briefly missing (a publish just started).
  manifestLoadPolicy: {
    default: {
      maxTimeToFirstByteMs: 10_000,
      maxLoadTimeMs: 20_000,
      timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: 3, retryDelayMs: 1000, maxRetryDelayMs: 4000 },
    },
  },
};

/** Neither Media Source Extensions nor native HLS: nothing to retry. */
export class UnsupportedBrowserError extends Error {
  constructor() {
    super("This browser can't play HLS video (no Media Source Extensions and no native HLS).");
    this.name = "UnsupportedBrowserError";
  }
}

export class LiveEngine {
  readonly video: HTMLVideoElement;
  readonly mode: EngineMode;
  /** Null in native mode. */
  readonly hls: Hls | null;
  private listeners = new Map<keyof EngineEvents, Set<Listener<never>>>();
  private cleanup: Array<() => void> = [];
  private mediaRecoveries = 0;
  private destroyed = false;

  private constructor(video: HTMLVideoElement, mode: EngineMode, hls: Hls | null) {
    this.video = video;
    this.mode = mode;
    this.hls = hls;
  }

  /**
   * Starts loading `url` into `video`. Rejects with UnsupportedBrowserError when the browser can play
   * neither way, or with the import's error when hls.js could not be downloaded.
   */
  static async create(video: HTMLVideoElement, url: string): Promise<LiveEngine> {
    const { default: HlsClass } = await import("hls.js");
    if (HlsClass.isSupported()) {
      const hls = new HlsClass(LIVE_HLS_CONFIG);
      const engine = new LiveEngine(video, "hls.js", hls);
      engine.wireHls(HlsClass);
      hls.loadSource(url);
      hls.attachMedia(video);
      return engine;
    }
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      const engine = new LiveEngine(video, "native", null);
      engine.wireNative();
      video.src = url;
      return engine;
    }
    throw new UnsupportedBrowserError();
  }

  on<K extends keyof EngineEvents>(type: K, fn: Listener<EngineEvents[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => set.delete(fn as Listener<never>);
  }

  private emit<K extends keyof EngineEvents>(type: K, payload: EngineEvents[K]): void {
    if (this.destroyed) return;
    for (const fn of this.listeners.get(type) ?? []) (fn as Listener<EngineEvents[K]>)(payload);
  }

  private listen(target: EventTarget, type: string, fn: EventListener): void {
    target.addEventListener(type, fn);
    this.cleanup.push(() => target.removeEventListener(type, fn));
  }

  private wireHls(HlsClass: typeof Hls): void {
    const hls = this.hls!;
    const { Events, ErrorTypes } = HlsClass;
    hls.on(Events.MANIFEST_PARSED, () => this.emit("levels", this.qualities()));
    hls.on(Events.LEVEL_SWITCHED, (_e, data) => {
      const level = hls.levels[data.level];
      if (level) this.emit("level", { height: level.height, auto: hls.autoLevelEnabled });
    });
    hls.on(Events.ERROR, (_e, data: ErrorData) => {
      if (!data.fatal) return;
      if (data.type === ErrorTypes.MEDIA_ERROR && this.mediaRecoveries < 2) {
        // Documented recovery: first recoverMediaError, then once more after swapping audio codec.
        this.mediaRecoveries += 1;
        if (this.mediaRecoveries === 2) hls.swapAudioCodec();
        hls.recoverMediaError();
        return;
      }
      const kind = data.type === ErrorTypes.NETWORK_ERROR ? "network" : data.type === ErrorTypes.MEDIA_ERROR ? "media" : "other";
      this.emit("fatal", { kind, details: String(data.details), httpStatus: data.response?.code });
    });
    this.listen(this.video, "ended", () => this.emit("ended", undefined));
  }

  private wireNative(): void {
    this.listen(this.video, "ended", () => this.emit("ended", undefined));
    this.listen(this.video, "error", () => {
      const code = this.video.error?.code;
      this.emit("fatal", { kind: code === MediaError.MEDIA_ERR_NETWORK ? "network" : "media", details: `MediaError ${code ?? "?"}` });
    });
  }

  /** Qualities by height, highest first; one entry per height (the highest bitrate at that height). */
  qualities(): QualityOption[] {
    if (!this.hls) return [];
    const byHeight = new Map<number, QualityOption>();
    this.hls.levels.forEach((level: Level, index: number) => {
      const seen = byHeight.get(level.height);
      if (!seen || level.bitrate > seen.bitrate) byHeight.set(level.height, { index, height: level.height, bitrate: level.bitrate });
    });
    return [...byHeight.values()].sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
  }

  /** -1 when hls.js picks the quality (Auto). */
  selectedQuality(): number {
    if (!this.hls) return -1;
    return this.hls.autoLevelEnabled ? -1 : this.hls.manualLevel;
  }

  /** Height of the level on screen, or the video's own height. */
  currentHeight(): number {
    const level = this.hls ? this.hls.levels[this.hls.currentLevel] : undefined;
    return level?.height || this.video.videoHeight;
  }

  /**
   * Switches quality: `nextLevel` changes it at the next segment boundary without emptying the buffer
   * (no stall), -1 returns to Auto.
   */
  setQuality(index: number): void {
    if (!this.hls) return;
    this.hls.nextLevel = index;
  }

  /** Seconds behind the live edge (hls.js's estimate of the playlist edge, aged by the time since loading). */
  latency(): number | null {
    if (this.hls) {
      const l = this.hls.latency;
      return l > 0 && Number.isFinite(l) ? l : null;
    }
    const { seekable, currentTime } = this.video;
    return seekable.length > 0 ? Math.max(0, seekable.end(seekable.length - 1) - currentTime) : null;
  }

  /** The distance from the edge the player aims for. */
  targetLatency(): number | null {
    return this.hls?.targetLatency ?? null;
  }

  /** Jumps to the live sync position (the target latency) and plays. */
  goLive(): void {
    const v = this.video;
    const pos = this.hls?.liveSyncPosition ?? (v.seekable.length > 0 ? v.seekable.end(v.seekable.length - 1) - 4 : null);
    if (pos !== null && Number.isFinite(pos) && pos > v.currentTime) v.currentTime = pos;
    void v.play().catch(() => undefined);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.listeners.clear();
    for (const fn of this.cleanup.splice(0)) fn();
    if (this.hls) {
      this.hls.destroy();
    } else {
      this.video.removeAttribute("src");
      this.video.load();
    }
  }
}
