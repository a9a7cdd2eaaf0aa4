import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { attemptDelivery } from "../../durable-objects/registry/webhooks";
import { registryStub } from "../../workers/env";
import { ADMIN_TOKEN, call, createStream, env } from "./helpers";
import { sendEvent } from "./ingest-fixtures";
import { answerNext, callsTo, createStreamWithWebhook, drainOutbox, installReceivers, outbox, receiver } from "./webhook-helpers";

const live = (streamId: string, sessionId = "sess000001") => sendEvent({ streamId, sessionId, type: "live", renditions: ["720p", "audio"] });

/** The receiver's check, exactly as README.md ("Webhooks") shows it. */
async function verifyOnairSignature(secret: string, signatureHeader: string, rawBody: string): Promise<boolean> {
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signatureHeader) ?? [];
  if (!t || !v1 || Math.abs(Date.now() / 1000 - Number(t)) > 300) return false; // too old: a replay
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const mac = Uint8Array.from(v1.match(/../g)!, (byte) => parseInt(byte, 16));
  return crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(`${t}.${rawBody}`));
}

beforeAll(installReceivers);
afterAll(() => vi.unstubAllGlobals());

describe("webhook delivery", () => {
  it("POSTs stream.live signed with the stream's secret: the README's check passes with it and fails otherwise", async () => {
    const url = receiver(204);
    const { id, webhookSecret } = await createStreamWithWebhook(url);
    expect(webhookSecret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect((await live(id)).status).toBe(204);
    await drainOutbox(id);

    const calls = callsTo(url);
    expect(calls).toHaveLength(1);
    const [{ headers, body }] = calls as [(typeof calls)[0]];
    const event = JSON.parse(body) as { id: string };
    expect(event).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: "stream.live",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: { streamId: id, sessionId: "sess000001", renditions: ["720p", "audio"] },
    });
    expect(headers.get("Content-Type")).toBe("application/json");
    expect(headers.get("Onair-Event-Id")).toBe(event.id);
    const signature = headers.get("Onair-Signature")!;
    expect(await verifyOnairSignature(webhookSecret, signature, body)).toBe(true);
    expect(await verifyOnairSignature(`whsec_${"0".repeat(64)}`, signature, body)).toBe(false);
    expect(await verifyOnairSignature(webhookSecret, signature, body.replace("sess000001", "sess000002"))).toBe(false);
  });

  it("retries a receiver that fails twice with growing delays, and delivers on the third attempt", async () => {
    const url = receiver(500, "network-error", 204);
    const { id } = await createStreamWithWebhook(url);
    await live(id);
    await drainOutbox(id);

    const calls = callsTo(url);
    expect(calls).toHaveLength(3);
    // The same event, byte for byte, each time.
    expect(new Set(calls.map((c) => c.headers.get("Onair-Event-Id"))).size).toBe(1);
    expect(new Set(calls.map((c) => c.body)).size).toBe(1);
    const [entry] = await outbox(id);
    expect(entry).toMatchObject({ status: "delivered", attempts: 3 });
    expect(entry!.log.map((l) => l.outcome)).toEqual(["HTTP 500", "network error: connection refused", "HTTP 204"]);
    expect(entry!.log.map((l) => l.retryInMs)).toEqual([1000, 2000, undefined]);
    const times = entry!.log.map((l) => Date.parse(l.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(await runInDurableObject(registryStub(env), (_, state) => state.storage.getAlarm())).toBeNull();
  });

  it("drops an event after 10 failed attempts, with backoff capped at 2 minutes, and logs why", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const url = receiver(503);
      const { id } = await createStreamWithWebhook(url);
      await live(id);
      await drainOutbox(id);

      expect(callsTo(url)).toHaveLength(10);
      const [entry] = await outbox(id);
      expect(entry).toMatchObject({ status: "dropped", attempts: 10 });
      expect(entry!.log.map((l) => l.retryInMs)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000, 120000, 120000, undefined]);
      const logged = warn.mock.calls.map((args) => String(args[0])).find((line) => line.includes(entry!.id));
      expect(logged).toContain("dropped after 10 attempts");
      expect(logged).toContain("HTTP 503");
    } finally {
      warn.mockRestore();
    }
  });

  it("keeps pending deliveries through a restart of the registry and resumes them", async () => {
    const url = receiver(503);
    const { id } = await createStreamWithWebhook(url);
    await live(id);
    await runInDurableObject(registryStub(env), (instance) => instance.alarm());
    const before = await outbox(id);
    expect(before).toEqual([expect.objectContaining({ status: "pending", attempts: expect.any(Number) })]);

    await abortAllDurableObjects();
    const [afterRestart] = await outbox(id);
    expect(afterRestart).toMatchObject({ id: before[0]!.id, status: "pending" });

    answerNext(url, 204);
    await drainOutbox(id);
    const [entry] = await outbox(id);
    expect(entry).toMatchObject({ id: before[0]!.id, status: "delivered" });
    expect(entry!.attempts).toBeGreaterThan(before[0]!.attempts);
    expect(entry!.log.at(-1)?.outcome).toBe("HTTP 204");
  });
});

describe("webhook events", () => {
  it("announces idle only for the current session, and each session's going live and recording once", async () => {
    const url = receiver(204);
    const { id } = await createStreamWithWebhook(url, { record: true });
    await live(id, "firstsession");
    await live(id, "secondsession");
    await live(id, "secondsession"); // the ingest node retrying an event whose answer it lost
    await sendEvent({ streamId: id, sessionId: "firstsession", type: "idle" }); // stale: replaced by the reconnect
    await sendEvent({ streamId: id, sessionId: "secondsession", type: "idle" });
    const recording = {
      masterPath: `/live/${id}/secondsession/master.m3u8`,
      durationSeconds: 61.5,
      startedAt: "2026-07-01T20:00:00.000Z",
      endedAt: "2026-07-01T20:01:01.500Z",
      renditions: ["720p", "audio"],
    };
    for (let i = 0; i < 2; i++) {
      expect((await sendEvent({ streamId: id, sessionId: "secondsession", type: "recording-ready", recording })).status).toBe(204);
    }
    await drainOutbox(id);

    const events = callsTo(url).map((c) => JSON.parse(c.body) as { type: string; data: Record<string, unknown> });
    expect(events.map((e) => `${e.type} ${e.data.sessionId}`).sort()).toEqual([
      "stream.idle secondsession",
      "stream.live firstsession",
      "stream.live secondsession",
      "stream.recording.ready secondsession",
    ]);
    expect(events.find((e) => e.type === "stream.recording.ready")?.data).toEqual({ streamId: id, sessionId: "secondsession", ...recording });
    expect(events.find((e) => e.type === "stream.idle")?.data).toEqual({ streamId: id, sessionId: "secondsession" });
  });

  it("queues nothing for a stream without a webhook", async () => {
    const { id } = await createStream();
    await live(id);
    await sendEvent({ streamId: id, sessionId: "sess000001", type: "idle" });
    expect(await outbox(id)).toEqual([]);
  });

  it("drops what was pending for a webhook once it is removed", async () => {
    const url = receiver(503);
    const { id } = await createStreamWithWebhook(url);
    await live(id);
    const res = await call(`/api/streams/${id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ webhookUrl: null }),
    });
    expect(res.status).toBe(200);
    expect(await drainOutbox(id)).toBe(0);
    const [entry] = await outbox(id);
    expect(entry?.status).toBe("dropped");
    expect(entry?.log.at(-1)?.outcome).toBe("dropped: webhook removed");
  });
});

describe("attemptDelivery", () => {
  const delivery = { id: "evt_test", url: "https://hooks.example/unit", secret: "whsec_test", body: "{}" };

  it("treats a redirect as a failure instead of following it, and bounds each attempt with a timeout", async () => {
    let seen: RequestInit | undefined;
    const result = await attemptDelivery(delivery, async (_, init) => {
      seen = init;
      return new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/" } });
    });
    expect(result).toEqual({ delivered: false, outcome: "HTTP 302" });
    expect(seen?.redirect).toBe("manual");
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
  });

  it("reports a timed-out attempt as such", async () => {
    const result = await attemptDelivery(delivery, () => Promise.reject(new DOMException("The operation timed out.", "TimeoutError")));
    expect(result).toEqual({ delivered: false, outcome: "timed out after 10 s" });
  });
});
