import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createStream, INGEST_SECRET, postJson } from "./helpers";

const authorize = (streamKey: unknown, secret: string | null = INGEST_SECRET) =>
  postJson("/internal/ingest/authorize", { streamKey }, secret);
const sendEvent = (event: Record<string, unknown>, secret: string | null = INGEST_SECRET) =>
  postJson("/internal/ingest/events", event, secret);
const publicStream = async (id: string) =>
  (await call(`/api/streams/${id}`)).json<{ status: string; sessionId: string | null; renditions: string[] }>();

describe("POST /internal/ingest/authorize", () => {
  it("maps a valid key to its stream", async () => {
    const created = await createStream();
    const res = await authorize(created.streamKey);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ streamId: created.id });
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
});
