import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { STREAM_KEY_PATTERN } from "../../workers/shared/ingest-api";
import { ADMIN_TOKEN, call, createStream, env, INGEST_SECRET, ORIGIN, postJson } from "./helpers";

const WEBHOOK_SECRET = /^whsec_[0-9a-f]{64}$/;
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

const patch = (id: string, body: unknown, headers: Record<string, string> = admin) =>
  call(`/api/streams/${id}`, { method: "PATCH", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) });
const rotate = (id: string, headers: Record<string, string> = admin) => call(`/api/streams/${id}/key`, { method: "POST", headers });
const authorize = (streamKey: string) => postJson("/internal/ingest/authorize", { streamKey }, INGEST_SECRET);

/** POST /api/streams through the Worker with WEBHOOK_ALLOW_HTTP set as the local stack sets it. */
async function createWithHttpAllowed(webhookUrl: string): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${ORIGIN}/api/streams`, {
    method: "POST",
    headers: { ...admin, "Content-Type": "application/json" },
    body: JSON.stringify({ title: "Local hook", webhookUrl }),
  });
  const res = await worker.fetch(request, { ...env, WEBHOOK_ALLOW_HTTP: "true" }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("POST /api/streams with record and a webhook", () => {
  it("stores both and shows the webhook secret once, never again", async () => {
    const res = await postJson("/api/streams", { title: "Recorded", record: true, webhookUrl: "https://hooks.example/onair" }, ADMIN_TOKEN);
    expect(res.status).toBe(201);
    const created = await res.json<{ id: string; record: boolean; webhookUrl: string; webhookSecret: string }>();
    expect(created).toMatchObject({ record: true, webhookUrl: "https://hooks.example/onair", webhookSecret: expect.stringMatching(WEBHOOK_SECRET) });

    const listing = await (await call("/api/streams", { headers: admin })).text();
    expect(listing).not.toContain(created.webhookSecret);
    expect(JSON.parse(listing).streams).toContainEqual(expect.objectContaining({ id: created.id, webhookUrl: "https://hooks.example/onair", record: true }));
    const publicView = await (await call(`/api/streams/${created.id}`)).json<Record<string, unknown>>();
    expect(publicView).toMatchObject({ record: true });
    expect(publicView).not.toHaveProperty("webhookUrl");
  });

  it("answers no webhookSecret when no webhook was given", async () => {
    const res = await postJson("/api/streams", { title: "Plain" }, ADMIN_TOKEN);
    expect(await res.json()).not.toHaveProperty("webhookSecret");
  });
});

describe("webhook URLs", () => {
  it.each([
    ["plain http", "http://hooks.example/onair", "webhookUrl must use https"],
    ["http to this machine while WEBHOOK_ALLOW_HTTP is false", "http://127.0.0.1:9000/hook", "WEBHOOK_ALLOW_HTTP"],
    ["another scheme", "ftp://hooks.example/onair", "webhookUrl must use https"],
    ["a relative URL", "/onair-webhook", "must be an absolute URL"],
    ["credentials in the URL", "https://user:pass@hooks.example/", "must not carry credentials"],
    ["a 2049-character URL", `https://hooks.example/${"x".repeat(2027)}`, "at most 2048 characters"],
  ])("refuses %s with 400 and says why", async (_, webhookUrl, reason) => {
    const res = await postJson("/api/streams", { title: "x", webhookUrl }, ADMIN_TOKEN);
    expect(res.status).toBe(400);
    const { error } = await res.json<{ error: string }>();
    expect(error).toMatch(/^invalid body: webhookUrl: /);
    expect(error).toContain(reason);
  });

  it("accepts http to localhost and 127.0.0.1 only when WEBHOOK_ALLOW_HTTP is true", async () => {
    expect((await createWithHttpAllowed("http://127.0.0.1:9000/hook")).status).toBe(201);
    expect((await createWithHttpAllowed("http://localhost:9000/hook")).status).toBe(201);
    expect((await createWithHttpAllowed("http://hooks.example/hook")).status).toBe(400);
  });
});

describe("PATCH /api/streams/:id", () => {
  it("changes any of the settings and answers the admin view, with a new secret each time a URL is set", async () => {
    const { id } = await createStream();
    const first = await patch(id, { record: true, webhookUrl: "https://hooks.example/a" });
    expect(first.status).toBe(200);
    const firstBody = await first.json<Record<string, unknown>>();
    expect(firstBody).toMatchObject({ id, record: true, signedPlayback: false, webhookUrl: "https://hooks.example/a", revoked: false });
    expect(firstBody.webhookSecret).toMatch(WEBHOOK_SECRET);

    const again = await (await patch(id, { webhookUrl: "https://hooks.example/a" })).json<Record<string, unknown>>();
    expect(again.webhookSecret).toMatch(WEBHOOK_SECRET);
    expect(again.webhookSecret).not.toBe(firstBody.webhookSecret);

    const removed = await (await patch(id, { webhookUrl: null, signedPlayback: true })).json<Record<string, unknown>>();
    expect(removed).toMatchObject({ webhookUrl: null, signedPlayback: true, record: true });
    expect(removed).not.toHaveProperty("webhookSecret");
    expect(await (await patch(id, { record: false })).json()).not.toHaveProperty("webhookSecret");
  });

  it.each([
    ["an empty body", {}, "invalid body: send at least one of signedPlayback, record, webhookUrl"],
    ["a field that cannot change", { title: "new" }, "invalid body: unknown field title; send any of signedPlayback, record, webhookUrl"],
    ["a known field next to an unknown one", { record: true, streamKey: "x" }, "invalid body: unknown field streamKey; send any of signedPlayback, record, webhookUrl"],
    ["a non-boolean record", { record: "yes" }, expect.stringMatching(/^invalid body: record: /)],
    ["a non-string webhookUrl", { webhookUrl: 42 }, expect.stringMatching(/^invalid body: webhookUrl: /)],
    ["an http webhookUrl", { webhookUrl: "http://hooks.example/" }, "invalid body: webhookUrl: webhookUrl must use https"],
  ])("refuses %s with 400 and changes nothing", async (_, body, error) => {
    const { id } = await createStream();
    const res = await patch(id, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error });
    const listed = (await (await call("/api/streams", { headers: admin })).json<{ streams: { id: string }[] }>()).streams.find((s) => s.id === id);
    expect(listed).toMatchObject({ record: false, webhookUrl: null });
  });

  it("answers 404 for an unknown stream and 401 without the admin token", async () => {
    expect((await patch("zzzzzzzzzzzz", { record: true })).status).toBe(404);
    const { id } = await createStream();
    expect((await patch(id, { record: true }, {})).status).toBe(401);
  });
});

describe("POST /api/streams/:id/key", () => {
  it("rotates the key: the old one stops authorizing at once, the new one authorizes with the stream's record flag", async () => {
    const created = await (await postJson("/api/streams", { title: "Rotating", record: true }, ADMIN_TOKEN)).json<{ id: string; streamKey: string }>();
    expect((await authorize(created.streamKey)).status).toBe(200);

    const res = await rotate(created.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const { streamKey, rtmpUrl } = await res.json<{ streamKey: string; rtmpUrl: string }>();
    expect(streamKey).toMatch(STREAM_KEY_PATTERN);
    expect(streamKey).not.toBe(created.streamKey);
    expect(rtmpUrl).toBe("rtmp://127.0.0.1:1935/live");

    expect((await authorize(created.streamKey)).status).toBe(403);
    const renewed = await authorize(streamKey);
    expect(renewed.status).toBe(200);
    expect(await renewed.json()).toEqual({ streamId: created.id, record: true });
  });

  it("answers 401 without the admin token and 404 for unknown or revoked streams", async () => {
    const { id, streamKey } = await createStream();
    expect((await rotate(id, {})).status).toBe(401);
    expect((await authorize(streamKey)).status).toBe(200);
    expect((await rotate("zzzzzzzzzzzz")).status).toBe(404);
    await call(`/api/streams/${id}`, { method: "DELETE", headers: admin });
    expect((await rotate(id)).status).toBe(404);
  });
});
