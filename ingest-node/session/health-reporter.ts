import type { IngestHealth } from "../../workers/shared/ingest-api";

/**
 * A live session's health for the studio (workers/shared/ingest-api.ts IngestHealth), measured every
 * interval. The session knows its source, ladder, encoder and uploads; the publisher's byte count comes
 * from the RTMP connection, and the input bitrate is the difference over the time since the previous
 * measurement. Reports are fire and forget: a lost one is replaced by the next, so nothing queues up.
 */
export type SessionHealth = Omit<IngestHealth, "inputKbps" | "measuredAt">;

export interface HealthReporterOptions {
  intervalMs: number;
  /** bytes the session's publishers have sent since it began; never decreases */
  inputBytes: () => number;
  /** the session's figures now; null while it has none yet (before its ladder is chosen) */
  session: () => SessionHealth | null;
  /** sends one measurement; called every interval from start() until stop() */
  report: (health: IngestHealth) => void;
  now?: () => number;
}

/** Shorter than this since the previous measurement, a bitrate is noise. */
const MIN_RATE_WINDOW_MS = 200;

export class HealthReporter {
  private timer: NodeJS.Timeout | null = null;
  private previous: { atMs: number; bytes: number };
  private readonly now: () => number;

  constructor(private readonly options: HealthReporterOptions) {
    this.now = options.now ?? Date.now;
    this.previous = { atMs: this.now(), bytes: options.inputBytes() };
  }

  /** A measurement now, its input rate over the time since the previous one (or since construction). */
  sample(): IngestHealth | null {
    const session = this.options.session();
    const atMs = this.now();
    const bytes = this.options.inputBytes();
    const elapsedMs = atMs - this.previous.atMs;
    const inputKbps = elapsedMs >= MIN_RATE_WINDOW_MS ? kbps(bytes - this.previous.bytes, elapsedMs) : null;
    if (elapsedMs >= MIN_RATE_WINDOW_MS) this.previous = { atMs, bytes };
    if (!session) return null;
    return { inputKbps, ...session, measuredAt: new Date(atMs).toISOString() };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const health = this.sample();
      if (health) this.options.report(health);
    }, this.options.intervalMs);
    // A report never keeps the process alive by itself.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** kbit/s, to one decimal */
export function kbps(bytes: number, elapsedMs: number): number {
  return Math.round((Math.max(0, bytes) * 8) / elapsedMs * 10) / 10;
}
