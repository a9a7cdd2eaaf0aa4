import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createStream, INGEST_SECRET, postJson } from "./helpers";
import { recordingOf, sampleHealth, sendEvent } from "./ingest-fixtures";

const authorize = (streamKey: unknown, secret: string | null = INGEST_SECRET) =>
  postJson("/internal/ingest/authorize", { streamKey }, secret);
const publicStream = async (id: string) =>
  (await call(`/api/streams/${id}`)).json<{ status: string; sessionId: string | null; renditions: string[] }>();

describe("POST /internal/ingest/authorize", () => {
  it("maps a valid key to its stream and says whether it records", async () => {
    const created = await createStream();
    const res = await authorize(created.streamKey);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ streamId: created.id, record: false });

    await call(`/api/streams/${created.id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ record: true }),
    });
    expect(await (await authorize(created.streamKey)).json()).toEqual({ streamId: created.id, record: true });
  });

  it.each([
    ["an unknown well-formed key", `sk_${"0".repeat(40)}`],
    ["a malformed key", "sk_short"],
    ["an upper-cased valid-looking key", `sk_${"A".repeat(40)}`],
  ])("refuses %s with 403", async (_, key) => {
    const res = await authorize(key);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "unknown or revoked stream key" });
  });

  it("refuses a revoked key", async () => {
    const created = await createStream();
    await call(`/api/streams/${created.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((await authorize(created.streamKey)).status).toBe(403);
  });

  it.each([
    ["no secret", null],
    ["a wrong secret", "wrong"],
    ["the admin token", ADMIN_TOKEN],
  ])("answers 401 to %s, even for a valid key", async (_, secret) => {
    const created = await createStream();
    const res = await authorize(created.streamKey, secret);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "send Authorization: Bearer <INGEST_SECRET>" });
  });

  it("answers 400 to a body without a string streamKey", async () => {
    expect((await authorize(123)).status).toBe(400);
    expect((await postJson("/internal/ingest/authorize", {}, INGEST_SECRET)).status).toBe(400);
  });
});

describe("POST /internal/ingest/events", () => {
  it("'live' puts the stream on air with its session and renditions; 'idle' takes it off", async () => {
    const { id } = await createStream();
    const live = await sendEvent({ streamId: id, sessionId: "sess000001", type: "live", renditions: ["720p", "360p", "audio"] });
    expect(live.status).toBe(204);
    expect(await publicStream(id)).toMatchObject({ status: "live", sessionId: "sess000001", renditions: ["720p", "360p", "audio"] });

    const idle = await sendEvent({ streamId: id, sessionId: "sess000001", type: "idle" });
    expect(idle.status).toBe(204);
    expect(await publicStream(id)).toMatchObject({ status: "idle", sessionId: null, renditions: [] });
  });

  it("ignores a late 'idle' from a session that a reconnect already replaced", async () => {
    const { id } = await createStream();
    await sendEvent({ streamId: id, sessionId: "firstsession", type: "live", renditions: ["480p"] });
    await sendEvent({ streamId: id, sessionId: "secondsession", type: "live", renditions: ["480p"] });
    const late = await sendEvent({ streamId: id, sessionId: "firstsession", type: "idle" });
    expect(late.status).toBe(204);
    expect(await publicStream(id)).toMatchObject({ status: "live", sessionId: "secondsession" });
  });

  it("answers 404 for an unknown stream and 403 for going live on a revoked one", async () => {
    expect((await sendEvent({ streamId: "zzzzzzzzzzzz", sessionId: "sess000001", type: "live" })).status).toBe(404);
    const { id } = await createStream();
    await call(`/api/streams/${id}`, { method: "DELETE", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    const res = await sendEvent({ streamId: id, sessionId: "sess000001", type: "live" });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toContain("revoked");
  });

  it.each([
    ["an unknown type", { type: "paused" }],
    ["a malformed session id", { sessionId: "../../x" }],
    ["a malformed rendition", { renditions: ["720p", "../x"] }],
    ["a malformed stream id", { streamId: "ABC" }],
  ])("rejects %s with 400", async (_, override) => {
    const { id } = await createStream();
    const res = await sendEvent({ streamId: id, sessionId: "sess000001", type: "live", ...override });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: string }>()).error).toMatch(/^invalid body: /);
  });

  it("answers 401 without the ingest secret and changes nothing", async () => {
    const { id } = await createStream();
    const res = await sendEvent({ streamId: id, sessionId: "sess000001", type: "live" }, "wrong");
    expect(res.status).toBe(401);
    expect((await publicStream(id)).status).toBe("idle");
  });

  it("accepts a health report and a recording of the stream's session", async () => {
    const { id } = await createStream();
    await sendEvent({ streamId: id, sessionId: "sess000001", type: "live", renditions: ["720p"], health: sampleHealth() });
    expect((await sendEvent({ streamId: id, sessionId: "sess000001", type: "health", health: sampleHealth({ inputKbps: null }) })).status).toBe(204);
    await sendEvent({ streamId: id, sessionId: "sess000001", type: "idle" });
    const recording = recordingOf(id, "sess000001");
    expect((await sendEvent({ streamId: id, sessionId: "sess000001", type: "recording-ready", recording })).status).toBe(204);
  });

  it.each([
    ["a health event without health", { type: "health" }, "health"],
    ["a negative bitrate", { type: "health", health: sampleHealth({ inputKbps: -1 }) }, "health.inputKbps"],
    ["an absurd encoder speed", { type: "health", health: sampleHealth({ encoderSpeed: 1e6 }) }, "health.encoderSpeed"],
    ["a fractional dropped-segment count", { type: "health", health: sampleHealth({ droppedSegments: 1.5 }) }, "health.droppedSegments"],
    ["a malformed shed rendition", { type: "health", health: sampleHealth({ shed: ["<b>"] }) }, "health.shed.0"],
    ["an unknown ladder decision", { type: "health", health: { ...sampleHealth(), ladder: { topRung: "upscaled", reason: "" } } }, "health.ladder.topRung"],
    ["a measuredAt that is not a time", { type: "health", health: sampleHealth({ measuredAt: "yesterday" }) }, "health.measuredAt"],
    ["a recording-ready event without a recording", { type: "recording-ready" }, "recording"],
    ["a recording of another session", { type: "recording-ready", recording: { masterPath: "/live/zzzzzzzzzzzz/other00001/master.m3u8" } }, "recording.masterPath"],
    ["a recording path that escapes its session", { type: "recording-ready", recording: { masterPath: "/live/../../secret" } }, "recording.masterPath"],
    ["a recording without renditions", { type: "recording-ready", recording: { renditions: [] } }, "recording.renditions"],
    ["a recording that ends before it starts", { type: "recording-ready", recording: { endedAt: "2026-06-30T00:00:00.000Z" } }, "recording.endedAt"],
  ])("rejects %s with 400 naming the field", async (_, override, field) => {
    const { id } = await createStream();
    const { recording, ...rest } = override as { recording?: Record<string, unknown> };
    const body = { streamId: id, sessionId: "sess000001", ...rest, ...(recording ? { recording: { ...recordingOf(id, "sess000001"), ...recording } } : {}) };
    const res = await sendEvent(body);
    expect(res.status).toBe(400);
    expect((await res.json<{ error: string }>()).error).toMatch(new RegExp(`^invalid body: ${field.replace(/\./g, "\\.")}: `));
  });
});
