import { setTimeout as sleep } from "node:timers/promises";

export interface RetryOptions {
  /** retrying ends (with the last error) once this aborts */
  signal: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs?: number;
  onFailure?: (error: unknown, attempt: number, nextDelayMs: number) => void;
}

/** Doubling delays, capped: a store that is down is asked about once per maxDelayMs, not hammered. */
export class Backoff {
  private delay: number;
  attempt = 0;

  constructor(
    private readonly initialDelayMs = 250,
    private readonly maxDelayMs = 5000,
  ) {
    this.delay = initialDelayMs;
  }

  /** The delay before the next attempt after a failure. */
  next(): number {
    const delay = this.delay;
    this.attempt += 1;
    this.delay = Math.min(this.delay * 2, this.maxDelayMs);
    return delay;
  }

  reset(): void {
    this.delay = this.initialDelayMs;
    this.attempt = 0;
  }
}

/** Resolves after delayMs, or false at once if the signal aborts. */
export async function pause(delayMs: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(delayMs, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Retries until it succeeds or the caller gives up: for the few puts that nothing may replace (the master). */
export async function retryUntilAborted<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options.initialDelayMs, options.maxDelayMs);
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (options.signal.aborted) throw error;
      const delay = backoff.next();
      options.onFailure?.(error, backoff.attempt, delay);
      if (!(await pause(delay, options.signal))) throw error;
    }
  }
}
