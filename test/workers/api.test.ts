import { describe, expect, it } from "vitest";
import { STREAM_KEY_PATTERN } from "../../workers/shared/ingest-api";
import { ADMIN_TOKEN, call, createStream, INGEST_SECRET, ORIGIN, postJson } from "./helpers";

describe("POST /api/streams", () => {
  it("creates a stream and returns everything OBS and a player need", async () => {
    const res = await postJson("/api/streams", { title: "  Friday night set  " }, ADMIN_TOKEN);
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = await res.json<Record<string, unknown>>();
    const id = body.id as string;
    expect(id).toMatch(/^[a-z0-9]{12}$/);
    expect(body).toEqual({
      id,
      streamKey: expect.stringMatching(STREAM_KEY_PATTERN),
      rtmpUrl: "rtmp://127.0.0.1:1935/live",
      hlsUrl: `${ORIGIN}/live/${id}/master.m3u8`,
      dashUrl: `${ORIGIN}/live/${id}/manifest.mpd`,
      watchUrl: `${ORIGIN}/watch/${id}`,
      title: "Friday night set",
      status: "idle",
      renditions: [],
      sessionId: null,
      signedPlayback: false,
      record: false,
      createdAt: expect.any(String),
      revoked: false,
      webhookUrl: null,
    });
    expect(res.headers.get("Location")).toBe(`/api/streams/${id}`);
  });

  it("gives every stream its own id and key", async () => {
    const [a, b] = await Promise.all([createStream("a"), createStream("b")]);
    expect(a.id).not.toBe(b.id);
    expect(a.streamKey).not.toBe(b.streamKey);
  });

  it.each([
    ["no Authorization header", undefined],
    ["a wrong token", "not-the-admin-token"],
    ["the ingest secret", INGEST_SECRET],
    ["a token that only shares a prefix", `${ADMIN_TOKEN}x`],
  ])("refuses %s with 401 and a JSON error", async (_, token) => {
    const res = await postJson("/api/streams", { title: "x" }, token);
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
    expect(await res.json()).toEqual({ error: "send Authorization: Bearer <ADMIN_TOKEN>" });
  });

  it("refuses a non-Bearer scheme", async () => {
    const res = await call("/api/streams", {
      method: "POST",
      headers: { Authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "x" }),
    });
    expect(res.status).toBe(401);
  });

  it.each([
    ["an empty title", { title: "" }, "invalid body: title: title must not be empty"],
    ["a blank title", { title: "   " }, "invalid body: title: title must not be empty"],
    ["a 121-character title", { title: "x".repeat(121) }, "invalid body: title: title must be at most 120 characters"],
    ["a missing title", {}, expect.stringMatching(/^invalid body: title: /)],
    ["a non-string title", { title: 42 }, expect.stringMatching(/^invalid body: title: /)],
  ])("rejects %s with 400", async (_, body, error) => {
    const res = await postJson("/api/streams", body, ADMIN_TOKEN);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error });
  });

  it("accepts a 120-character title", async () => {
    const res = await postJson("/api/streams", { title: "x".repeat(120) }, ADMIN_TOKEN);
    expect(res.status).toBe(201);
  });

  it("rejects malformed JSON and a body that is not declared as JSON", async () => {
    const headers = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const malformed = await call("/api/streams", {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: '{"title": ',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: "Malformed JSON in request body" });

    const undeclared = await call("/api/streams", { method: "POST", headers, body: JSON.stringify({ title: "x" }) });
    expect(undeclared.status).toBe(400);
    expect(await undeclared.json()).toEqual({ error: "send the body as JSON with Content-Type: application/json" });
  });
});

describe("GET /api/streams/:id (public)", () => {
  it("returns the public view without the key or an auth header", async () => {
    const created = await createStream("Public one");
    const res = await call(`/api/streams/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=2, s-maxage=2, stale-if-error=0");
    expect(await res.json()).toEqual({
      id: created.id,
      title: "Public one",
      status: "idle",
      hlsUrl: created.hlsUrl,
      dashUrl: `${ORIGIN}/live/${created.id}/manifest.mpd`,
      watchUrl: created.watchUrl,
      renditions: [],
      sessionId: null,
      signedPlayback: false,
      record: false,
      viewers: 0,
    });
  });

  it.each(["zzzzzzzzzzzz", "not-an-id", "ABCDEFGHIJKL"])("answers 404 for %s", async (id) => {
    const res = await call(`/api/streams/${id}`);
    expect(res.status).toBe(404);
    expect((await res.json<{ error: string }>()).error).toContain(id);
  });

  it("allows other origins to read it (CORS)", async () => {
    const created = await createStream();
    const res = await call(`/api/streams/${created.id}`, { headers: { Origin: "https://blog.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const preflight = await call(`/api/streams/${created.id}`, {
      method: "OPTIONS",
      headers: { Origin: "https://blog.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toBe("GET,HEAD,OPTIONS");
  });
});

describe("GET /api/streams (admin)", () => {
  it("lists streams, never with their keys", async () => {
    const created = await createStream("Listed");
    const res = await call("/api/streams", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(created.streamKey);
    const { streams } = JSON.parse(text) as { streams: { id: string; title: string }[] };
    expect(streams).toContainEqual(expect.objectContaining({ id: created.id, title: "Listed", revoked: false }));
  });

  it("refuses without the admin token", async () => {
    expect((await call("/api/streams")).status).toBe(401);
    expect((await call("/api/streams?status=idle")).status).toBe(401);
  });
});

describe("GET /api/streams?status=live (public)", () => {
  it("lists streams on air, without keys, cacheable for 2 s", async () => {
    const [onAir, offAir] = await Promise.all([createStream("On air"), createStream("Off air")]);
    await postJson("/internal/ingest/events", { streamId: onAir.id, sessionId: "sess000001", type: "live", renditions: ["720p"] }, INGEST_SECRET);
    const res = await call("/api/streams?status=live");
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=2, s-maxage=2, stale-if-error=0");
    const text = await res.text();
    expect(text).not.toContain(onAir.streamKey);
    const live = JSON.parse(text) as { id: string }[];
    expect(live).toContainEqual({
      id: onAir.id,
      title: "On air",
      status: "live",
      hlsUrl: onAir.hlsUrl,
      dashUrl: `${ORIGIN}/live/${onAir.id}/manifest.mpd`,
      watchUrl: onAir.watchUrl,
      renditions: ["720p"],
      sessionId: "sess000001",
      signedPlayback: false,
      record: false,
      viewers: 0,
    });
    expect(live.map((s) => s.id)).not.toContain(offAir.id);
  });
});

describe("DELETE /api/streams/:id (admin)", () => {
  it("revokes: the key stops authorizing and the stream disappears from the public API", async () => {
    const created = await createStream();
    const unauthorized = await call(`/api/streams/${created.id}`, { method: "DELETE" });
    expect(unauthorized.status).toBe(401);
    expect((await postJson("/internal/ingest/authorize", { streamKey: created.streamKey }, INGEST_SECRET)).status).toBe(200);

    const res = await call(`/api/streams/${created.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    expect((await postJson("/internal/ingest/authorize", { streamKey: created.streamKey }, INGEST_SECRET)).status).toBe(403);
    expect((await call(`/api/streams/${created.id}`)).status).toBe(404);
  });

  it("answers 404 for an unknown stream", async () => {
    const res = await call("/api/streams/zzzzzzzzzzzz", { method: "DELETE", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(404);
  });
});
