import { describe, expect, it } from "vitest";
import { moderatorToken } from "../../workers/middleware/stream-owner";
import { ADMIN_TOKEN, call, createStream } from "./helpers";
import { sampleHealth, sendEvent } from "./ingest-fixtures";

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const getHealth = (id: string, headers: Record<string, string> = {}) => call(`/api/streams/${id}/health`, { headers });

describe("GET /api/streams/:id/health", () => {
  it("shows the current session's latest report to the stream's owner, uncached", async () => {
    const { id } = await createStream();
    await sendEvent({ streamId: id, sessionId: "sess000001", type: "live", renditions: ["1080p", "720p", "audio"], health: sampleHealth() });
    const owner = bearer(await moderatorToken(ADMIN_TOKEN, id));
    const first = await getHealth(id, owner);
    expect(first.status).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    expect(await first.json()).toEqual({ status: "live", sessionId: "sess000001", health: sampleHealth() });

    const later = sampleHealth({ encoderSpeed: 0.8, lagSeconds: 3.5, shed: ["1080p"], renditions: ["720p", "audio"], measuredAt: "2026-07-01T18:00:10.000Z" });
    expect((await sendEvent({ streamId: id, sessionId: "sess000001", type: "health", health: later })).status).toBe(204);
    expect(await (await getHealth(id, bearer(ADMIN_TOKEN))).json()).toEqual({ status: "live", sessionId: "sess000001", health: later });
  });

  it("ignores reports from a session that is no longer current, and forgets health when the stream goes idle", async () => {
    const { id } = await createStream();
    const admin = bearer(ADMIN_TOKEN);
    await sendEvent({ streamId: id, sessionId: "sessold001", type: "live", health: sampleHealth() });
    await sendEvent({ streamId: id, sessionId: "sessnew001", type: "live" });
    expect(await (await getHealth(id, admin)).json()).toEqual({ status: "live", sessionId: "sessnew001", health: null });
    expect((await sendEvent({ streamId: id, sessionId: "sessold001", type: "health", health: sampleHealth() })).status).toBe(204);
    expect((await (await getHealth(id, admin)).json<{ health: unknown }>()).health).toBeNull();

    await sendEvent({ streamId: id, sessionId: "sessnew001", type: "health", health: sampleHealth() });
    await sendEvent({ streamId: id, sessionId: "sessnew001", type: "idle" });
    expect(await (await getHealth(id, admin)).json()).toEqual({ status: "idle", sessionId: null, health: null });
  });

  it("answers 401 without a token or with another stream's owner token", async () => {
    const [{ id }, other] = await Promise.all([createStream(), createStream()]);
    const res = await getHealth(id);
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
    expect((await getHealth(id, bearer(await moderatorToken(ADMIN_TOKEN, other.id)))).status).toBe(401);
  });

  it("answers 404 for an unknown stream, and a revoked stream's reports are refused so its publish stops", async () => {
    expect((await getHealth("zzzzzzzzzzzz", bearer(ADMIN_TOKEN))).status).toBe(404);
    const { id } = await createStream();
    await sendEvent({ streamId: id, sessionId: "sess000001", type: "live" });
    await call(`/api/streams/${id}`, { method: "DELETE", headers: bearer(ADMIN_TOKEN) });
    expect((await sendEvent({ streamId: id, sessionId: "sess000001", type: "health", health: sampleHealth() })).status).toBe(403);
    expect((await getHealth(id, bearer(ADMIN_TOKEN))).status).toBe(404);
  });
});
