import type { Ladder, VideoRendition } from "../ladder/ladder";
import type { TranscodeProgress } from "./transcoder";

/**
 * Keeping up with live: follows ffmpeg's progress lines and says when encoding has fallen so far behind
 * the source that rungs must go. What matters is whether the distance to live grows: each line's offset
 * (wall time minus media time encoded) is compared with the smallest offset seen this run, so the
 * constant delay every run starts with (the process, the RTMP play, the input analysed before the first
 * frame, the encoder's lookahead) is not lag, while a ladder too slow for the machine shows up within
 * seconds of its first line. ffmpeg's own speed= is an average since its start, so it recovers too
 * slowly to judge by; the lag is what viewers feel. Pure: time comes in with each call.
 */
export interface StreamHealth {
  /** media seconds encoded per wall second over the last SPEED_WINDOW_MS (or since the run began) */
  speed: number | null;
  /** how far the newest encoded media is behind the source, in seconds */
  lagSeconds: number;
  /** rungs dropped this session to keep up, costliest first */
  shed: string[];
}

export type SpeedDecision = { action: "keep" } | { action: "shed"; ladder: Ladder; dropped: string[]; reason: string };

export interface SpeedMonitorOptions {
  /**
   * Lag that means encoding has run below real time for more than a few seconds (one and a half
   * segments): beyond it a segment is late at the edge and players start to stall.
   */
  maxLagSeconds?: number;
  /** headroom kept when choosing what to drop: the remaining rungs must cost this fraction of what ran */
  headroom?: number;
}

const DEFAULT_MAX_LAG_SECONDS = 3;
const DEFAULT_HEADROOM = 0.85;
/**
 * The span the reported speed is measured over. ffmpeg's progress lines come every half second, and
 * what one half second encoded jitters with frame types and segment flushes; a few seconds is what a
 * person reading the figure means by "now".
 */
export const SPEED_WINDOW_MS = 4000;

interface Observation {
  wallMs: number;
  mediaSeconds: number;
}

export class SpeedMonitor {
  /** the observation closest to live so far: lag is measured from it */
  private origin: Observation | null = null;
  /** observations within the speed window, oldest first (the oldest may be just outside it) */
  private readonly recent: Observation[] = [];
  private health: StreamHealth;
  /** one decision per transcoder run: the caller restarts it with the smaller ladder */
  private decided = false;
  private readonly maxLag: number;
  private readonly headroom: number;

  constructor(
    private readonly ladder: Ladder,
    options: SpeedMonitorOptions = {},
    shedSoFar: readonly string[] = [],
  ) {
    this.maxLag = options.maxLagSeconds ?? DEFAULT_MAX_LAG_SECONDS;
    this.headroom = options.headroom ?? DEFAULT_HEADROOM;
    this.health = { speed: null, lagSeconds: 0, shed: [...shedSoFar] };
  }

  get current(): StreamHealth {
    return { ...this.health, shed: [...this.health.shed] };
  }

  observe(progress: TranscodeProgress, wallMs: number): SpeedDecision {
    const media = progress.outTimeSeconds;
    if (media === null) return { action: "keep" };
    const offset = (o: Observation) => o.wallMs / 1000 - o.mediaSeconds;
    const now = { wallMs, mediaSeconds: media };
    if (!this.origin || offset(now) < offset(this.origin)) this.origin = now;
    const lag = offset(now) - offset(this.origin);
    this.recent.push({ wallMs, mediaSeconds: media });
    // Keep one observation at or beyond the window's start, so the window is always covered.
    while (this.recent.length > 2 && this.recent[1]!.wallMs <= wallMs - SPEED_WINDOW_MS) this.recent.shift();
    const oldest = this.recent[0]!;
    const speed = wallMs > oldest.wallMs ? (media - oldest.mediaSeconds) / ((wallMs - oldest.wallMs) / 1000) : null;
    this.health = { ...this.health, speed: speed ?? this.health.speed, lagSeconds: Math.max(0, lag) };
    if (lag <= this.maxLag || this.decided) return { action: "keep" };

    // Real time over the time it took: how fast this ladder really runs here.
    const runSpeed = (media - this.origin.mediaSeconds) / ((wallMs - this.origin.wallMs) / 1000);
    const { ladder, dropped } = shedRungs(this.ladder, runSpeed * this.headroom);
    if (dropped.length === 0) return { action: "keep" };
    this.decided = true;
    const reason = `encoding ran at ${runSpeed.toFixed(2)}x real time, ${lag.toFixed(1)} s behind: dropping ${dropped.join(", ")}`;
    return { action: "shed", ladder, dropped, reason };
  }
}

/** Encoding work of a rung, in pixels per second: scaling and x264 both grow with it. A copy costs nothing. */
export function rungCost(rung: VideoRendition): number {
  return rung.passthrough ? 0 : rung.width * rung.height * (rung.fps.num / rung.fps.den);
}

/**
 * The ladder without its costliest encoded rungs, dropped until what is left costs at most `fraction`
 * of the whole. At least one video rung stays: the copied source if there is one, else the cheapest.
 */
export function shedRungs(ladder: Ladder, fraction: number): { ladder: Ladder; dropped: string[] } {
  const total = ladder.video.reduce((sum, r) => sum + rungCost(r), 0);
  const budget = total * Math.min(1, Math.max(0, fraction));
  const byCost = [...ladder.video].filter((r) => rungCost(r) > 0).sort((a, b) => rungCost(b) - rungCost(a));
  const dropped = new Set<string>();
  let remaining = total;
  for (const rung of byCost) {
    if (remaining <= budget || dropped.size === ladder.video.length - 1) break;
    dropped.add(rung.name);
    remaining -= rungCost(rung);
  }
  return { ladder: { ...ladder, video: ladder.video.filter((r) => !dropped.has(r.name)) }, dropped: [...dropped] };
}
