/**
 * Notices a publish that has gone quiet. ffmpeg reports progress twice a second while media flows; a
 * publisher that stops sending but keeps its connection open blocks ffmpeg's read silently (its
 * -rw_timeout does not cover RTMP input). So: no progress and no bytes from the publisher for
 * STALL_TIMEOUT_MS is a stalled source; no progress for STUCK_TIMEOUT_MS while the publisher sends is a
 * stuck (or hopelessly slow) ffmpeg. The session decides what each means.
 */
export interface StallWatchOptions {
  /** bytes the publishers have sent so far; without it, ffmpeg's silence stands for the publisher's */
  inputBytes?: () => number;
  /** neither media nor progress for a while: the publisher went quiet */
  onStalled: (silentMs: number) => void;
  /** no progress while the publisher sends: ffmpeg is stuck */
  onStuck: (silentMs: number) => void;
}

const STALL_TIMEOUT_MS = 15_000;
/**
 * Long enough for an ffmpeg that has not finished its first seconds of media on a slow machine (the speed
 * monitor sheds rungs at its first progress line) not to be taken for a stuck one.
 */
const STUCK_TIMEOUT_MS = 60_000;
const CHECK_INTERVAL_MS = 1000;

export class StallWatch {
  private timer: NodeJS.Timeout | null = null;
  private lastProgressAt = 0;
  private lastInput = { atMs: 0, bytes: -1 };

  constructor(private readonly options: StallWatchOptions) {}

  /** Watches from now (a new ffmpeg run starts with a clean slate). */
  start(): void {
    const now = Date.now();
    this.lastProgressAt = now;
    this.lastInput = { atMs: now, bytes: this.options.inputBytes?.() ?? -1 };
    this.timer ??= setInterval(() => this.check(), CHECK_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** ffmpeg reported progress. */
  progress(now = Date.now()): void {
    this.lastProgressAt = now;
  }

  private check(): void {
    const now = Date.now();
    const bytes = this.options.inputBytes?.();
    if (bytes !== undefined && bytes !== this.lastInput.bytes) this.lastInput = { atMs: now, bytes };
    const ffmpegSilentMs = now - this.lastProgressAt;
    const publisherSilentMs = bytes === undefined ? ffmpegSilentMs : now - this.lastInput.atMs;
    if (ffmpegSilentMs >= STALL_TIMEOUT_MS && publisherSilentMs >= STALL_TIMEOUT_MS) return this.options.onStalled(ffmpegSilentMs);
    if (ffmpegSilentMs >= STUCK_TIMEOUT_MS) {
      // Once per STUCK_TIMEOUT_MS: the replacement gets the same time to report.
      this.lastProgressAt = now;
      this.options.onStuck(ffmpegSilentMs);
    }
  }
}
