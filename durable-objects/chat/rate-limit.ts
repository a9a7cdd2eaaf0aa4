/**
 * "At most `limit` events in any `windowMs`": a sliding-window log kept as a ring of the last `limit`
 * timestamps, so a check is O(1) and a burst cannot borrow from the next window the way a token bucket's
 * refill lets it.
 */
export class SlidingWindowLimiter {
  private readonly stamps: number[];
  private next = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.stamps = new Array<number>(limit).fill(Number.NEGATIVE_INFINITY);
  }

  /** Records the event and returns 0 if it is allowed; otherwise records nothing and returns the ms to wait. */
  take(now: number): number {
    const wait = this.stamps[this.next]! + this.windowMs - now;
    if (wait > 0) return Math.ceil(wait);
    this.stamps[this.next] = now;
    this.next = (this.next + 1) % this.limit;
    return 0;
  }
}
