import { runInDurableObject } from "cloudflare:test";
import { vi } from "vitest";
import { MAX_ATTEMPTS, type AttemptLogEntry, type OutboxStatus } from "../../durable-objects/registry/outbox";
import { registryStub } from "../../workers/env";
import { ADMIN_TOKEN, env, postJson } from "./helpers";

/**
 * Fake webhook receivers. The registry's alarm runs in this isolate, so a stubbed global fetch is what it
 * calls; each test gets receivers at URLs of its own, so deliveries left over from another test never reach it.
 */
export interface ReceivedCall {
  url: string;
  headers: Headers;
  body: string;
}

/** An HTTP status to answer, or a connection that fails. */
export type Answer = number | "network-error";

const receivers = new Map<string, Answer[]>();
export const received: ReceivedCall[] = [];

export function installReceivers(): void {
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const answers = receivers.get(request.url);
    if (!answers) throw new Error(`no receiver at ${request.url} in this test`);
    received.push({ url: request.url, headers: request.headers, body: await request.text() });
    // The last answer repeats.
    const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (answer === "network-error") throw new Error("connection refused");
    return new Response(null, { status: answer });
  });
}

/** A receiver URL of its own that answers `answers` in turn, then the last one for ever. */
export function receiver(...answers: Answer[]): string {
  const url = `https://hooks.example/${crypto.randomUUID()}`;
  receivers.set(url, answers);
  return url;
}

export function callsTo(url: string): ReceivedCall[] {
  return received.filter((call) => call.url === url);
}

export interface OutboxEntry {
  id: string;
  status: OutboxStatus;
  attempts: number;
  log: AttemptLogEntry[];
}

export async function outbox(streamId: string): Promise<OutboxEntry[]> {
  return runInDurableObject(registryStub(env), (_, state) =>
    state.storage.sql
      .exec<{ id: string; status: OutboxStatus; attempts: number; attempt_log: string }>(
        "SELECT id, status, attempts, attempt_log FROM webhook_outbox WHERE stream_id = ? ORDER BY created_at, rowid",
        streamId,
      )
      .toArray()
      .map((row) => ({ id: row.id, status: row.status, attempts: row.attempts, log: JSON.parse(row.attempt_log) as AttemptLogEntry[] })),
  );
}

/**
 * Runs the registry's alarm until nothing of this stream is pending; returns how many runs that took. It
 * calls the alarm handler itself rather than runDurableObjectAlarm: the runtime may be running the scheduled
 * alarm at this very moment (it clears the alarm while it runs), and the outbox queues this run behind it.
 */
export async function drainOutbox(streamId: string): Promise<number> {
  for (let runs = 0; runs <= MAX_ATTEMPTS; runs++) {
    if (!(await outbox(streamId)).some((entry) => entry.status === "pending")) return runs;
    await runInDurableObject(registryStub(env), (instance) => instance.alarm());
  }
  throw new Error(`deliveries of stream ${streamId} still pending after ${MAX_ATTEMPTS + 1} alarm runs`);
}

export async function createStreamWithWebhook(webhookUrl: string, extra: Record<string, unknown> = {}) {
  const res = await postJson("/api/streams", { title: "Hooked", webhookUrl, ...extra }, ADMIN_TOKEN);
  if (res.status !== 201) throw new Error(`create stream: ${res.status} ${await res.text()}`);
  return res.json<{ id: string; streamKey: string; webhookSecret: string; webhookUrl: string }>();
}

/** Changes what a receiver answers from now on. */
export function answerNext(url: string, ...answers: Answer[]): void {
  receivers.set(url, answers);
}
