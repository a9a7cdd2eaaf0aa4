import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createStream, env, ORIGIN } from "./helpers";
import { recordingOf, sendEvent } from "./ingest-fixtures";

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function recordSession(streamId: string, sessionId: string, startedAt: string): Promise<void> {
  await sendEvent({ streamId, sessionId, type: "live", renditions: ["720p", "360p", "audio"] });
  await sendEvent({ streamId, sessionId, type: "idle" });
  const res = await sendEvent({ streamId, sessionId, type: "recording-ready", recording: recordingOf(streamId, sessionId, startedAt) });
  if (res.status !== 204) throw new Error(`recording-ready: ${res.status} ${await res.text()}`);
}

const listRecordings = (id: string) => call(`/api/streams/${id}/recordings`);
const deleteRecording = (id: string, sessionId: string, headers: Record<string, string> = admin) =>
  call(`/api/streams/${id}/recordings/${sessionId}`, { method: "DELETE", headers });

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.MEDIA.list({ prefix, cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

describe("GET /api/streams/:id/recordings (public)", () => {
  it("lists recorded sessions newest first, with absolute playlist URLs", async () => {
    const { id } = await createStream();
    await recordSession(id, "sessearly1", "2026-07-01T18:00:00.000Z");
    await recordSession(id, "sesslater1", "2026-07-02T18:00:00.000Z");

    const res = await listRecordings(id);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=2, s-maxage=2, stale-if-error=0");
    expect(await res.json()).toEqual({
      recordings: [
        {
          sessionId: "sesslater1",
          hlsUrl: `${ORIGIN}/live/${id}/sesslater1/master.m3u8`,
          durationSeconds: 30,
          startedAt: "2026-07-02T18:00:00.000Z",
          endedAt: "2026-07-02T18:00:30.000Z",
          renditions: ["720p", "360p", "audio"],
        },
        expect.objectContaining({ sessionId: "sessearly1", hlsUrl: `${ORIGIN}/live/${id}/sessearly1/master.m3u8` }),
      ],
    });
  });

  it("accepts a recording while another session of the stream is live, and a repeated event keeps one entry", async () => {
    const { id } = await createStream();
    await sendEvent({ streamId: id, sessionId: "sessfirst1", type: "live" });
    await sendEvent({ streamId: id, sessionId: "sesssecond", type: "live" });
    const recording = recordingOf(id, "sessfirst1");
    for (let i = 0; i < 2; i++) expect((await sendEvent({ streamId: id, sessionId: "sessfirst1", type: "recording-ready", recording })).status).toBe(204);
    const { recordings } = await (await listRecordings(id)).json<{ recordings: { sessionId: string }[] }>();
    expect(recordings.map((r) => r.sessionId)).toEqual(["sessfirst1"]);
    expect(await (await call(`/api/streams/${id}`)).json()).toMatchObject({ status: "live", sessionId: "sesssecond" });
  });

  it("answers 404 for unknown and revoked streams, and ignores recordings of unknown streams", async () => {
    expect((await listRecordings("zzzzzzzzzzzz")).status).toBe(404);
    const unknown = recordingOf("zzzzzzzzzzzz", "sess000001");
    expect((await sendEvent({ streamId: "zzzzzzzzzzzz", sessionId: "sess000001", type: "recording-ready", recording: unknown })).status).toBe(404);

    const { id } = await createStream();
    await recordSession(id, "sess000001", "2026-07-01T18:00:00.000Z");
    await call(`/api/streams/${id}`, { method: "DELETE", headers: admin });
    expect((await listRecordings(id)).status).toBe(404);
  });
});

describe("DELETE /api/streams/:id/recordings/:sessionId (admin)", () => {
  it("deletes every object of that session, page after page, and nothing of other sessions", async () => {
    const { id } = await createStream();
    await recordSession(id, "sessgone01", "2026-07-01T18:00:00.000Z");
    await recordSession(id, "sesskept01", "2026-07-02T18:00:00.000Z");
    // More than one R2 list page (1000 keys) under the deleted session.
    const doomed = [`live/${id}/sessgone01/master.m3u8`, ...Array.from({ length: 1004 }, (_, i) => `live/${id}/sessgone01/720p/seg-${String(i + 1).padStart(5, "0")}.m4s`)];
    // Another session, one whose id merely starts with the deleted one's, and the stream's own files.
    const kept = [`live/${id}/sesskept01/720p/seg-00001.m4s`, `live/${id}/sessgone012/720p/seg-00001.m4s`, `live/${id}/master.m3u8`, `live/${id}/poster.jpg`];
    await Promise.all([...doomed, ...kept].map((key) => env.MEDIA.put(key, "x")));

    const res = await deleteRecording(id, "sessgone01");
    expect(res.status).toBe(204);
    expect(await keysUnder(`live/${id}/sessgone01/`)).toEqual([]);
    expect((await keysUnder(`live/${id}/`)).sort()).toEqual([...kept].sort());
    const { recordings } = await (await listRecordings(id)).json<{ recordings: { sessionId: string }[] }>();
    expect(recordings.map((r) => r.sessionId)).toEqual(["sesskept01"]);
    expect((await deleteRecording(id, "sessgone01")).status).toBe(404);
  }, 30_000); // a thousand R2 writes on a shared machine

  it("answers 401 without the admin token and 404 for a session that is not a recording", async () => {
    const { id } = await createStream();
    await recordSession(id, "sess000001", "2026-07-01T18:00:00.000Z");
    await env.MEDIA.put(`live/${id}/sess000001/master.m3u8`, "x");
    expect((await deleteRecording(id, "sess000001", {})).status).toBe(401);
    expect(await keysUnder(`live/${id}/sess000001/`)).toHaveLength(1);
    expect((await deleteRecording(id, "sess000002")).status).toBe(404);
    expect((await deleteRecording(id, "..")).status).toBe(404);
    expect((await deleteRecording("zzzzzzzzzzzz", "sess000001")).status).toBe(404);
  });
});
