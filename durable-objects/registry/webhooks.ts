import type { RecordingInfo } from "../../workers/shared/ingest-api";
import { hmacSha256Hex, randomHex } from "./crypto";

/**
 * What a stream's webhook receives: one JSON event per POST, signed so the receiver can tell it came from
 * this deployment and was not replayed long after (README, "Webhooks").
 */
export type WebhookEventType = "stream.live" | "stream.idle" | "stream.recording.ready";

export interface WebhookData {
  "stream.live": { streamId: string; sessionId: string; renditions: string[] };
  "stream.idle": { streamId: string; sessionId: string };
  "stream.recording.ready": { streamId: string; sessionId: string } & RecordingInfo;
}

export interface WebhookEvent<T extends WebhookEventType = WebhookEventType> {
  id: string;
  type: T;
  createdAt: string;
  data: WebhookData[T];
}

const EVENT_ID_HEADER = "Onair-Event-Id";
const SIGNATURE_HEADER = "Onair-Signature";
const ATTEMPT_TIMEOUT_MS = 10_000;

export function webhookEvent<T extends WebhookEventType>(type: T, data: WebhookData[T], now: number): WebhookEvent<T> {
  return { id: `evt_${randomHex(16)}`, type, createdAt: new Date(now).toISOString(), data };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the time is signed too, so a replay can be refused. */
async function signatureHeader(secret: string, body: string, unixSeconds: number): Promise<string> {
  return `t=${unixSeconds},v1=${await hmacSha256Hex(secret, `${unixSeconds}.${body}`)}`;
}

export interface Delivery {
  id: string;
  url: string;
  secret: string;
  /** the exact bytes sent on every attempt; only the signature's time changes between attempts */
  body: string;
}

export interface AttemptResult {
  delivered: boolean;
  /** for the outbox's log and the drop warning, e.g. "HTTP 503" or "timed out after 10 s" */
  outcome: string;
}

/** One POST. Any 2xx counts as delivered; anything else, including a redirect, is retried later. */
export async function attemptDelivery(delivery: Delivery, fetcher: typeof fetch = fetch): Promise<AttemptResult> {
  const signature = await signatureHeader(delivery.secret, delivery.body, Math.floor(Date.now() / 1000));
  try {
    const response = await fetcher(delivery.url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "onair-webhooks",
        [EVENT_ID_HEADER]: delivery.id,
        [SIGNATURE_HEADER]: signature,
      },
      body: delivery.body,
      // A receiver that moved must be configured again: following redirects would resend a signed body to wherever it points.
      redirect: "manual",
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return { delivered: response.ok, outcome: `HTTP ${response.status}` };
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError") {
      return { delivered: false, outcome: `timed out after ${ATTEMPT_TIMEOUT_MS / 1000} s` };
    }
    return { delivered: false, outcome: `network error: ${error instanceof Error ? error.message : String(error)}` };
  }
}
