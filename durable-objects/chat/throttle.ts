/**
 * Runs `run` at most once per `intervalMs`, and never sooner than `minDelayMs` after the first request,
 * so a burst of requests collapses into one run.
 *
 * A plain setTimeout rather than a Durable Object alarm: a pending timer keeps the object awake, and the
 * object is awake anyway whenever something asks for a run (a message or a connection just arrived).
 * An alarm would cost a storage write per run (four a second for reactions) to protect state that is
 * worthless after an eviction: at most one window of reaction counts or one presence update.
 */
export class Throttle {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastRun = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly run: () => void,
    private readonly intervalMs: number,
    private readonly minDelayMs: number,
  ) {}

  request(): void {
    if (this.timer !== null) return;
    const delay = Math.max(this.minDelayMs, this.lastRun + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.lastRun = Date.now();
      this.run();
    }, delay);
  }
}
