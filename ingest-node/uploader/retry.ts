import { setTimeout as sleep } from "node:timers/promises";

export interface RetryOptions {
  /** retrying ends (with the last error) once this aborts */
  signal: AbortSignal;
  initialDelayMs?: number;
  maxDelayMs?: number;
  onFailure?: (error: unknown, attempt: number, nextDelayMs: number) => void;
}

/**
 * Retries with doubling delays until it succeeds or the caller gives up: a storage hiccup should delay
 * segments, not drop them. Unbounded on purpose for now; issue 7 adds a bounded spool for long outages.
 */
export async function retryUntilAborted<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  let delay = options.initialDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (options.signal.aborted) throw error;
      options.onFailure?.(error, attempt, delay);
      try {
        await sleep(delay, undefined, { signal: options.signal });
      } catch {
        throw error;
      }
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5000);
    }
  }
}
