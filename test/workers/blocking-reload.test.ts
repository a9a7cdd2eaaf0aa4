import { describe, expect, it } from "vitest";
import { playlistGateStub } from "../../workers/env";
import { ADMIN_TOKEN, call, env, INGEST_SECRET, postJson, registeredStreamId } from "./helpers";

/**
 * LL-HLS blocking playlist reloads (`_HLS_msn`), inside workerd with local R2 and the PlaylistGate
 * Durable Object: the ingest node's notice (POST /internal/ingest/playlists) wakes the waiting players.
 */
const SESSION = "sess000001";

function livePlaylist(first: number, last: number, targetDuration = 2): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", `#EXT-X-TARGETDURATION:${targetDuration}`, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES", `#EXT-X-MEDIA-SEQUENCE:${first}`, '#EXT-X-MAP:URI="init-1.mp4"'];
  for (let n = first; n <= last; n++) lines.push("#EXTINF:2.000000,", `seg-${String(n).padStart(5, "0")}.m4s`);
  return `${lines.join("\n")}\n`;
}

async function seed(last: number, targetDuration = 2, signedPlayback = false) {
  const id = await registeredStreamId(signedPlayback);
  const key = `live/${id}/${SESSION}/720p/index.m3u8`;
  await env.MEDIA.put(key, livePlaylist(1, last, targetDuration));
  return { id, key, path: `/${key}` };
}

/** What the ingest node does after each playlist put. */
async function announce(id: string, mediaSequence: number) {
  const res = await postJson("/internal/ingest/playlists", { streamId: id, sessionId: SESSION, rendition: "720p", mediaSequence }, INGEST_SECRET);
  expect(res.status).toBe(204);
}

const lastListed = (text: string) => Number(/seg-(\d+)\.m4s\n$/.exec(text)?.[1]);
const body = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());
interface Metrics {
  r2ReadsByKind: Record<string, number>;
  blockingWaits: number;
  blockingTimeouts: number;
}
const metrics = async () => (await call("/internal/metrics", { headers: { Authorization: `Bearer ${INGEST_SECRET}` } })).json<Metrics>();

describe("blocking playlist reloads", () => {
  it("answers at once when the playlist already lists the segment asked for", async () => {
    const { path } = await seed(3);
    const res = await call(`${path}?_HLS_msn=3`);
    expect(res.status).toBe(200);
    expect(lastListed(await body(res))).toBe(3);
  });

  it("holds a request for the next segment until it is stored and announced, then answers every waiting player", async () => {
    const { id, key, path } = await seed(3);
    const before = await metrics();
    let answered = false;
    const waiting = Promise.all([call(`${path}?_HLS_msn=4`), call(`${path}?_HLS_msn=4&token=x`)]).then((r) => {
      answered = true;
      return r;
    });
    await scheduler.wait(300);
    expect(answered).toBe(false);
    await env.MEDIA.put(key, livePlaylist(1, 4));
    await announce(id, 4);
    const responses = await waiting;
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("public, max-age=1, s-maxage=1, stale-if-error=0");
      expect(lastListed(await body(res))).toBe(4);
    }
    // Collapsed: one read before the wait and one after it, for both players.
    const after = await metrics();
    expect(after.r2ReadsByKind["media-playlist"]! - before.r2ReadsByKind["media-playlist"]!).toBe(2);
    expect(after.blockingWaits - before.blockingWaits).toBe(1);
    expect(after.blockingTimeouts).toBe(before.blockingTimeouts);
  });

  it("answers a request made just after the announcement without waiting for the next one", async () => {
    const { id, key, path } = await seed(3);
    await env.MEDIA.put(key, livePlaylist(1, 4));
    await announce(id, 4);
    const res = await call(`${path}?_HLS_msn=4`);
    expect(lastListed(await body(res))).toBe(4);
  });

  it("gives up after three target durations and answers the playlist as it is, uncached", async () => {
    const { path } = await seed(3, 1);
    const timeoutsBefore = (await metrics()).blockingTimeouts;
    const started = Date.now();
    const res = await call(`${path}?_HLS_msn=4`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(lastListed(await body(res))).toBe(3);
    // Not a timing assertion: a wait that never started would answer at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect((await metrics()).blockingTimeouts - timeoutsBefore).toBe(1);
  });

  it("answers an ended playlist at once, whatever number is asked for", async () => {
    const { key, path } = await seed(3);
    await env.MEDIA.put(key, `${livePlaylist(1, 3)}#EXT-X-ENDLIST\n`);
    const res = await call(`${path}?_HLS_msn=5`);
    expect(res.status).toBe(200);
    expect(await body(res)).toContain("#EXT-X-ENDLIST");
  });

  it.each([
    ["more than two segments ahead", "_HLS_msn=6", "more than two segments past"],
    ["a part without a segment number", "_HLS_part=0", "_HLS_part needs _HLS_msn"],
    ["a number that is not one", "_HLS_msn=4x", "_HLS_msn must be"],
    ["a negative number", "_HLS_msn=-1", "_HLS_msn must be"],
    ["a huge number", "_HLS_msn=99999999999", "_HLS_msn must be"],
    ["a bad part number", "_HLS_msn=4&_HLS_part=a", "_HLS_part must be"],
  ])("refuses %s with 400", async (_, query, message) => {
    const { path } = await seed(3);
    const res = await call(`${path}?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(((await res.json()) as { error: string }).error).toContain(message);
  });

  it("checks a signed stream's token on blocking requests, and signs the URIs of the answer", async () => {
    const { id, key, path } = await seed(3, 2, true);
    const minted = await postJson(`/api/streams/${id}/playback-tokens`, { ttlSeconds: 600 }, ADMIN_TOKEN);
    const { token } = (await minted.json()) as { token: string };
    const waiting = call(`${path}?token=${token}&_HLS_msn=4`);
    await env.MEDIA.put(key, livePlaylist(1, 4));
    await announce(id, 4);
    const res = await waiting;
    expect(res.status).toBe(200);
    const text = await body(res);
    expect(lastListed(text.replace(/\?token=[^\n]+/g, ""))).toBe(4);
    expect(text).toContain(`seg-00004.m4s?token=${token}`);
    expect((await call(`${path}?_HLS_msn=4`)).status).toBe(403);
  });

  it("is a 404 for a stream that has no playlist, without waiting", async () => {
    const id = await registeredStreamId();
    const res = await call(`/live/${id}/${SESSION}/720p/index.m3u8?_HLS_msn=1`);
    expect(res.status).toBe(404);
  });

  it("takes notices from the ingest node only, and checks them", async () => {
    const { id } = await seed(3);
    const notice = { streamId: id, sessionId: SESSION, rendition: "720p", mediaSequence: 4 };
    expect((await postJson("/internal/ingest/playlists", notice, null)).status).toBe(401);
    expect((await postJson("/internal/ingest/playlists", { ...notice, rendition: "../x" }, INGEST_SECRET)).status).toBe(400);
    expect((await postJson("/internal/ingest/playlists", { ...notice, mediaSequence: -1 }, INGEST_SECRET)).status).toBe(400);
  });
});

describe("the playlist gate", () => {
  it("wakes only the waiters whose number is now stored, and remembers it for later callers", async () => {
    const gate = playlistGateStub(env, "gatetest0001");
    const four = gate.waitFor("k", 4, 5000);
    const five = gate.waitFor("k", 5, 300);
    await gate.stored("k", 4);
    expect(await four).toBe(true);
    expect(await five).toBe(false);
    expect(await gate.waitFor("k", 3, 10)).toBe(true);
    expect(await gate.waitFor("other", 1, 10)).toBe(false);
  });
});
