import { attemptDelivery, type AttemptResult, type Delivery } from "./webhooks";

/**
 * Webhook deliveries waiting in the registry's SQLite and sent from its alarm: an event is stored in the
 * same synchronous step that records the state change it announces, so neither a receiver that is down nor
 * a restart of the object loses it. Failed attempts are retried with exponential backoff; finished rows
 * stay for a week as a delivery log.
 */
export const MAX_ATTEMPTS = 10;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 120_000;
/** Attempts in flight at once: one slow receiver must not hold back every other stream's events. */
const BATCH_SIZE = 20;
const KEEP_FINISHED_MS = 7 * 24 * 3600 * 1000;

export type OutboxStatus = "pending" | "delivered" | "dropped";

export interface AttemptLogEntry {
  at: string;
  outcome: string;
  /** set when another attempt was scheduled */
  retryInMs?: number;
}

type OutboxRow = {
  id: string;
  stream_id: string;
  url: string;
  secret: string;
  body: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  attempt_log: string;
};

/** 1 s after the first failure, doubling, at most 2 min: about 6 minutes from first to last attempt. */
function retryDelayMs(failedAttempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** (failedAttempts - 1), MAX_RETRY_MS);
}

export class WebhookOutbox {
  // Attempts must never overlap: an alarm run while another is still waiting on a receiver (a test
  // driving the alarm, or the runtime retrying one) would send the same event twice.
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Synchronous, so it commits together with the state change it announces; call schedule() after. */
  enqueue(streamId: string, delivery: Delivery, now: number): void {
    this.storage.sql.exec(
      "INSERT INTO webhook_outbox (id, stream_id, url, secret, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      delivery.id,
      streamId,
      delivery.url,
      delivery.secret,
      delivery.body,
      now,
      now,
    );
    this.storage.sql.exec("DELETE FROM webhook_outbox WHERE status != 'pending' AND created_at < ?", now - KEEP_FINISHED_MS);
  }

  /** Pending events of a stream whose webhook changed or was removed: they were meant for the old receiver. */
  dropPending(streamId: string, reason: string, now: number): void {
    this.storage.sql.exec(
      "UPDATE webhook_outbox SET status = 'dropped', attempt_log = json_insert(attempt_log, '$[#]', json(?)) WHERE stream_id = ? AND status = 'pending'",
      JSON.stringify({ at: new Date(now).toISOString(), outcome: `dropped: ${reason}` } satisfies AttemptLogEntry),
      streamId,
    );
  }

  /** Sets the alarm for the earliest pending attempt, or clears it when nothing is pending. */
  async schedule(): Promise<void> {
    const next = this.earliestPending();
    if (next === null) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(next);
  }

  /** The alarm handler: attempts what is due, records the results, sets the next alarm. */
  run(): Promise<void> {
    const run = this.running.then(() => this.attemptDue());
    this.running = run.catch(() => undefined);
    return run;
  }

  private async attemptDue(): Promise<void> {
    const earliest = this.earliestPending();
    if (earliest !== null) {
      // The alarm is set for the earliest pending attempt, so that one is due whenever the alarm runs, even
      // if it runs early (tests drive alarms with runDurableObjectAlarm): otherwise it would only reschedule itself.
      const dueBy = Math.max(Date.now(), earliest);
      const due = this.storage.sql
        .exec<OutboxRow>("SELECT * FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?", dueBy, BATCH_SIZE)
        .toArray();
      const results = await Promise.all(due.map((row) => attemptDelivery(row)));
      const at = Date.now();
      due.forEach((row, i) => this.recordAttempt(row, results[i]!, at));
    }
    await this.schedule();
  }

  private recordAttempt(row: OutboxRow, result: AttemptResult, at: number): void {
    const attempts = row.attempts + 1;
    const entry: AttemptLogEntry = { at: new Date(at).toISOString(), outcome: result.outcome };
    let status: OutboxStatus = "pending";
    let nextAttemptAt = row.next_attempt_at;
    if (result.delivered) {
      status = "delivered";
    } else if (attempts >= MAX_ATTEMPTS) {
      status = "dropped";
      console.warn(
        `webhook event ${row.id} for stream ${row.stream_id} dropped after ${attempts} attempts to ${row.url} (last: ${result.outcome}); ` +
          "make the receiver answer 2xx within 10 s",
      );
    } else {
      entry.retryInMs = retryDelayMs(attempts);
      nextAttemptAt = at + entry.retryInMs;
    }
    // Only while still pending: the webhook may have been changed while this attempt was in flight.
    this.storage.sql.exec(
      `UPDATE webhook_outbox SET status = ?, attempts = ?, next_attempt_at = ?, attempt_log = json_insert(attempt_log, '$[#]', json(?))
       WHERE id = ? AND status = 'pending'`,
      status,
      attempts,
      nextAttemptAt,
      JSON.stringify(entry),
      row.id,
    );
  }

  private earliestPending(): number | null {
    const row = this.storage.sql
      .exec<{ next: number | null }>("SELECT MIN(next_attempt_at) AS next FROM webhook_outbox WHERE status = 'pending'")
      .toArray()[0];
    return row?.next ?? null;
  }
}
