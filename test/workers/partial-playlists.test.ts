import { afterEach, describe, expect, it, vi } from "vitest";
import { playlistGateStub } from "../../workers/env";
import type { PartialPlaylistNotice } from "../../workers/shared/ingest-api";
import { ADMIN_TOKEN, call, env, INGEST_SECRET, postJson, registeredStreamId } from "./helpers";

/**
 * LL-HLS partial segments (EXT-X-PART), inside workerd with local R2 and the PlaylistGate Durable Object:
 * the ingest node's partial playlist notices (POST /internal/ingest/parts) are served from the gate, and
 * `_HLS_msn`/`_HLS_part` requests wait there for the part they ask for.
 */
const SESSION = "sess000001";
const PART_SECONDS = 0.5;
const PARTS_PER_SEGMENT = 4;

type Partial = Omit<PartialPlaylistNotice, "streamId" | "sessionId" | "rendition">;

const seg = (n: number) => `seg-${String(n).padStart(5, "0")}.m4s`;
const part = (n: number, p: number) => `seg-${String(n).padStart(5, "0")}.p${p}.m4s`;

function header(first: number, targetDuration: number): string[] {
  return [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500",
    "#EXT-X-PART-INF:PART-TARGET=0.600",
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    '#EXT-X-MAP:URI="init-1.mp4"',
  ];
}

const partLines = (n: number, count: number) =>
  Array.from({ length: count }, (_, p) => `#EXT-X-PART:DURATION=${PART_SECONDS.toFixed(6)},URI="${part(n, p)}"${p === 0 ? ",INDEPENDENT=YES" : ""}`);

/**
 * What the ingest node sends: whole segments `lastSegment-1..lastSegment` (the last one with its parts)
 * and `partsOfNext` parts of the segment being written.
 */
function llPlaylist(lastSegment: number, partsOfNext: number, targetDuration = 2): Partial {
  const lines = header(lastSegment - 1, targetDuration);
  lines.push("#EXTINF:2.000000,", seg(lastSegment - 1));
  lines.push(...partLines(lastSegment, PARTS_PER_SEGMENT), "#EXTINF:2.000000,", seg(lastSegment));
  lines.push(...partLines(lastSegment + 1, partsOfNext));
  const [lastPartSegment, lastPart] = partsOfNext > 0 ? [lastSegment + 1, partsOfNext - 1] : [lastSegment, PARTS_PER_SEGMENT - 1];
  return { playlist: `${lines.join("\n")}\n`, lastSegment, lastPartSegment, lastPart, ended: false };
}

/** The session's last notice: the whole segments, EXT-X-ENDLIST, no parts. */
function endedPlaylist(lastSegment: number): Partial {
  const lines = header(lastSegment - 1, 2);
  for (const n of [lastSegment - 1, lastSegment]) lines.push("#EXTINF:2.000000,", seg(n));
  return { playlist: `${lines.join("\n")}\n#EXT-X-ENDLIST\n`, lastSegment, lastPartSegment: -1, lastPart: -1, ended: true };
}

/** The stored (whole-segment) playlist, what R2 holds for the rendition. */
function storedPlaylist(lastSegment: number): string {
  const lines = header(lastSegment - 1, 2).filter((line) => !line.startsWith("#EXT-X-PART-INF"));
  for (const n of [lastSegment - 1, lastSegment]) lines.push("#EXTINF:2.000000,", seg(n));
  return `${lines.join("\n")}\n`;
}

async function stream({ signed = false, stored = 5 } = {}) {
  const id = await registeredStreamId(signed);
  const key = `live/${id}/${SESSION}/720p/index.m3u8`;
  await env.MEDIA.put(key, storedPlaylist(stored));
  return { id, path: `/${key}` };
}

/** What the ingest node does after each part it stores. */
async function publish(id: string, partial: Partial, rendition = "720p") {
  const res = await postJson("/internal/ingest/parts", { streamId: id, sessionId: SESSION, rendition, ...partial }, INGEST_SECRET);
  expect(res.status).toBe(204);
}

// workerd warns about .text() on an application/vnd.apple.mpegurl body.
const body = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());
const LIVE_POLICY = "public, max-age=1, s-maxage=1, stale-if-error=0";

interface Metrics {
  r2ReadsByKind: Record<string, number>;
  collapsedRequests: number;
  partialAnswers: number;
  partialWaits: number;
  partialTimeouts: number;
}
const metrics = async () => (await call("/internal/metrics", { headers: { Authorization: `Bearer ${INGEST_SECRET}` } })).json<Metrics>();
const grew = (before: Metrics, after: Metrics, name: "partialAnswers" | "partialWaits" | "partialTimeouts" | "collapsedRequests") =>
  after[name] - before[name];
const r2PlaylistReads = (before: Metrics, after: Metrics) => after.r2ReadsByKind["media-playlist"]! - before.r2ReadsByKind["media-playlist"]!;

/** Settles with whether it has been answered, so a test can see a request is still held. */
function tracked(response: Promise<Response>) {
  const state = { answered: false };
  const done = response.then((res) => {
    state.answered = true;
    return res;
  });
  return { state, done };
}

describe("partial playlists from the gate", () => {
  it("answers a plain request with the gate's partial playlist instead of the stored one, with an ETag", async () => {
    const { id, path } = await stream();
    const partial = llPlaylist(6, 2);
    await publish(id, partial);
    const before = await metrics();
    const res = await call(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/vnd.apple.mpegurl");
    expect(res.headers.get("Cache-Control")).toBe(LIVE_POLICY);
    expect(await body(res)).toBe(partial.playlist);
    const after = await metrics();
    expect(r2PlaylistReads(before, after)).toBe(0);
    expect(grew(before, after, "partialAnswers")).toBe(1);

    const etag = res.headers.get("ETag");
    expect(etag).toMatch(/^"p-[0-9a-f]{24}"$/);
    const revalidated = await call(path, { headers: { "If-None-Match": etag! } });
    expect(revalidated.status).toBe(304);
    // A newer playlist, a new tag: asked under its own numbers, so the bare path's cached answer is not it.
    await publish(id, llPlaylist(6, 3));
    const newer = await call(`${path}?_HLS_msn=7&_HLS_part=2`, { headers: { "If-None-Match": etag! } });
    expect(newer.status).toBe(200);
    expect(newer.headers.get("ETag")).not.toBe(etag);
  });

  it("holds _HLS_msn=7&_HLS_part=2 until a notice lists that part, answering every waiting player from one wait", async () => {
    const { id, path } = await stream();
    await publish(id, llPlaylist(6, 2));
    // Part 1 is listed: answered at once, and kept under its own numbers, not those of part 2.
    expect(await body(await call(`${path}?_HLS_msn=7&_HLS_part=1`))).toBe(llPlaylist(6, 2).playlist);
    const before = await metrics();
    const first = tracked(call(`${path}?_HLS_msn=7&_HLS_part=2`));
    const second = tracked(call(`${path}?_HLS_msn=7&_HLS_part=2&token=x`));
    await scheduler.wait(300);
    // A notice that does not list the part yet wakes nobody.
    await publish(id, llPlaylist(6, 2));
    await scheduler.wait(100);
    expect(first.state.answered || second.state.answered).toBe(false);
    const partial = llPlaylist(6, 3);
    await publish(id, partial);
    for (const res of [await first.done, await second.done]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe(LIVE_POLICY);
      const text = await body(res);
      expect(text).toBe(partial.playlist);
      expect(text).toContain(`URI="${part(7, 2)}"`);
    }
    const after = await metrics();
    // Collapsed: one wait in the gate for both players, and no storage read.
    expect(grew(before, after, "partialWaits")).toBe(1);
    expect(grew(before, after, "partialAnswers")).toBe(1);
    expect(grew(before, after, "collapsedRequests")).toBe(1);
    expect(grew(before, after, "partialTimeouts")).toBe(0);
    expect(r2PlaylistReads(before, after)).toBe(0);
    // Kept under its numbers: the next player asking the same is answered without asking the gate again.
    expect(await body(await call(`${path}?_HLS_msn=7&_HLS_part=2`))).toBe(partial.playlist);
    expect(grew(after, await metrics(), "partialAnswers")).toBe(0);
  });

  it("answers a part past a segment's last once the segment is complete, and the next segment's first part when it comes", async () => {
    const { id, path } = await stream();
    await publish(id, llPlaylist(6, PARTS_PER_SEGMENT));
    const pastLast = tracked(call(`${path}?_HLS_msn=7&_HLS_part=${PARTS_PER_SEGMENT}`));
    const nextFirst = tracked(call(`${path}?_HLS_msn=8&_HLS_part=0`));
    await scheduler.wait(300);
    expect(pastLast.state.answered).toBe(false);
    // Segment 7 complete, no part of 8 yet.
    const complete = llPlaylist(7, 0);
    await publish(id, complete);
    expect(await body(await pastLast.done)).toBe(complete.playlist);
    await scheduler.wait(100);
    expect(nextFirst.state.answered).toBe(false);
    const withNext = llPlaylist(7, 1);
    await publish(id, withNext);
    const text = await body(await nextFirst.done);
    expect(text).toBe(withNext.playlist);
    expect(text).toContain(`URI="${part(8, 0)}",INDEPENDENT=YES`);
  });

  it("gives up after three target durations and answers the newest playlist, uncached", async () => {
    const { id, path } = await stream();
    const partial = llPlaylist(6, 2, 1);
    await publish(id, partial);
    const before = await metrics();
    const started = Date.now();
    const res = await call(`${path}?_HLS_msn=7&_HLS_part=3`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await body(res)).toBe(partial.playlist);
    // Not a timing assertion: a wait that never started would answer at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    const after = await metrics();
    expect(grew(before, after, "partialTimeouts")).toBe(1);
    expect(r2PlaylistReads(before, after)).toBe(0);
  });

  it("refuses a segment more than two past the newest listed (counting the one in parts) with 400", async () => {
    const { id, path } = await stream();
    await publish(id, llPlaylist(6, 2));
    const res = await call(`${path}?_HLS_msn=10&_HLS_part=0`);
    expect(res.status).toBe(400);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(((await res.json()) as { error: string }).error).toContain("more than two segments past the playlist's last (7)");
  });

  it("answers every waiting player at once with the ended playlist, whatever they asked for", async () => {
    const { id, path } = await stream();
    await publish(id, llPlaylist(6, 2));
    const waiting = tracked(call(`${path}?_HLS_msn=8&_HLS_part=1`));
    await scheduler.wait(300);
    expect(waiting.state.answered).toBe(false);
    const ended = endedPlaylist(7);
    await publish(id, ended);
    const res = await waiting.done;
    expect(res.status).toBe(200);
    expect(await body(res)).toBe(ended.playlist);
    // Never the day a stored ENDLIST playlist is kept: the stored one (a recording lists the whole session) takes over.
    expect(res.headers.get("Cache-Control")).toBe(LIVE_POLICY);
    const farAhead = await call(`${path}?_HLS_msn=40`);
    expect(farAhead.status).toBe(200);
    expect(await body(farAhead)).toContain("#EXT-X-ENDLIST");
  });

  it("does not roll back to a notice that arrives after a newer one", async () => {
    const { id, path } = await stream();
    const newest = llPlaylist(7, 0);
    await publish(id, llPlaylist(6, 3));
    await publish(id, newest);
    // Overtaken on the way: an earlier part, and the last part of the segment before its completion.
    await publish(id, llPlaylist(6, 1));
    await publish(id, llPlaylist(6, PARTS_PER_SEGMENT));
    expect(await body(await call(path))).toBe(newest.playlist);

    // The ended playlist is final, though it lists no parts.
    const ended = endedPlaylist(8);
    await publish(id, ended, "480p");
    await publish(id, llPlaylist(8, 2), "480p");
    expect(await body(await call(path.replace("/720p/", "/480p/")))).toBe(ended.playlist);
  });

  it("serves the stored playlist, as before, when the gate has no partial playlist for the rendition", async () => {
    const { id, path } = await stream();
    await publish(id, llPlaylist(6, 2), "480p");
    const before = await metrics();
    const res = await call(path);
    expect(res.status).toBe(200);
    expect(await body(res)).toBe(storedPlaylist(5));
    // Blocking on the stored playlist too: segment 5 is listed, so at once.
    expect(await body(await call(`${path}?_HLS_msn=5&_HLS_part=0`))).toBe(storedPlaylist(5));
    const after = await metrics();
    expect(r2PlaylistReads(before, after)).toBe(2);
    expect(grew(before, after, "partialAnswers")).toBe(0);
  });

  it("signs the part URIs of a signed stream's partial playlist, and refuses it without a token", async () => {
    const { id, path } = await stream({ signed: true });
    await publish(id, llPlaylist(6, 2));
    const minted = await postJson(`/api/streams/${id}/playback-tokens`, { ttlSeconds: 600 }, ADMIN_TOKEN);
    const { token } = (await minted.json()) as { token: string };
    const res = await call(`${path}?token=${token}&_HLS_msn=7&_HLS_part=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toMatch(/^private, /);
    const text = await body(res);
    expect(text).toContain(`#EXT-X-PART:DURATION=0.500000,URI="${part(7, 1)}?token=${token}"\n`);
    expect(text).toContain(`URI="${part(7, 0)}?token=${token}",INDEPENDENT=YES`);
    expect(text).toContain(`URI="init-1.mp4?token=${token}"`);
    expect(text).toContain(`\n${seg(6)}?token=${token}\n`);
    expect(text.match(/URI="[^"]*"/g)!.every((uri) => uri.endsWith(`?token=${token}"`))).toBe(true);
    expect((await call(`${path}?_HLS_msn=7&_HLS_part=1`)).status).toBe(403);
    expect((await call(path)).status).toBe(403);
  });

  it("holds a request for a part not stored yet (a preload hint) until the part is listed, then serves it", async () => {
    const { id } = await stream();
    await publish(id, llPlaylist(6, 1));
    const key = `live/${id}/${SESSION}/720p/${part(7, 1)}`;
    let answered = false;
    const waiting = call(`/${key}`).then((res) => {
      answered = true;
      return res;
    });
    await scheduler.wait(300);
    expect(answered).toBe(false);
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
    await env.MEDIA.put(key, bytes);
    await publish(id, llPlaylist(6, 2));
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("does not hold a request for a part that was listed but is gone", async () => {
    const { id } = await stream();
    await publish(id, llPlaylist(6, 2));
    // Part 0 of segment 7 is listed (so the gate has nothing to wait for) but not in the store.
    const res = await call(`/live/${id}/${SESSION}/720p/${part(7, 0)}`);
    expect(res.status).toBe(404);
  });

  it("serves a stored part like a segment: video/mp4, immutable", async () => {
    const id = await registeredStreamId();
    const key = `live/${id}/${SESSION}/720p/${part(7, 0)}`;
    const bytes = Uint8Array.from({ length: 128 }, (_, i) => i);
    await env.MEDIA.put(key, bytes);
    const res = await call(`/${key}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("video/mp4");
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });
});

describe("POST /internal/ingest/parts", () => {
  const notice = (id: string, partial: Partial = llPlaylist(6, 2)) => ({ streamId: id, sessionId: SESSION, rendition: "720p", ...partial });

  it("takes notices from the ingest node only", async () => {
    const { id, path } = await stream();
    expect((await postJson("/internal/ingest/parts", notice(id), null)).status).toBe(401);
    expect((await postJson("/internal/ingest/parts", notice(id), ADMIN_TOKEN)).status).toBe(401);
    expect(await body(await call(path))).toBe(storedPlaylist(5));
  });

  it.each([
    ["a rendition that is not one", { rendition: "../x" }, "rendition"],
    ["a playlist that is not one", { playlist: "<html>" }, "must be a playlist, starting with #EXTM3U"],
    ["a part number below -1", { lastPart: -2 }, "lastPart"],
    ["a part number of three digits", { lastPart: 100 }, "lastPart"],
    ["a fractional segment number", { lastSegment: 6.5 }, "lastSegment"],
    ["a part of no segment", { lastPartSegment: -1, lastPart: 0 }, "both -1"],
    ["no ended flag", { ended: undefined }, "ended"],
    ["a playlist over the limit", { playlist: `#EXTM3U\n${"#".repeat(64 * 1024)}` }, "at most 65536 bytes"],
    // Fewer characters than the limit, more bytes.
    ["a playlist over the limit in UTF-8", { playlist: `#EXTM3U\n${"é".repeat(40_000)}` }, "at most 65536 bytes"],
  ])("refuses %s with 400", async (_, change, message) => {
    const { id, path } = await stream();
    const res = await postJson("/internal/ingest/parts", { ...notice(id), ...change }, INGEST_SECRET);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(message);
    expect(await body(await call(path))).toBe(storedPlaylist(5));
  });

  it("refuses a body far over the limit before parsing it, with 413 and a JSON error", async () => {
    const { id } = await stream();
    const res = await postJson("/internal/ingest/parts", { ...notice(id), playlist: `#EXTM3U\n${"#".repeat(200 * 1024)}` }, INGEST_SECRET);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toMatch(/body too large/);
  });
});

describe("the playlist gate's partial playlists", () => {
  const at = (lastSegment: number, lastPartSegment: number, lastPart: number, ended = false) => ({
    playlist: `#EXTM3U\n# ${lastSegment} ${lastPartSegment}.${lastPart}${ended ? " ended" : ""}\n`,
    lastSegment,
    lastPartSegment,
    lastPart,
    ended,
  });

  it("takes a notice unless it is older than the one it holds", async () => {
    const gate = playlistGateStub(env, "gatepart0001");
    expect(await gate.partialPlaylist("k", null, null, 0)).toBeNull();
    expect(await gate.publishPartial("k", at(6, 7, 1))).toBe(true);
    expect(await gate.publishPartial("k", at(6, 7, 0))).toBe(false);
    expect(await gate.publishPartial("k", at(5, 7, 1))).toBe(false);
    expect(await gate.publishPartial("k", at(6, 7, 1))).toBe(true);
    // Segment 7 complete, its last part still listed: newer than its parts alone.
    expect(await gate.publishPartial("k", at(7, 7, 3))).toBe(true);
    expect(await gate.publishPartial("k", at(6, 7, 3))).toBe(false);
    expect(await gate.publishPartial("k", at(7, 8, 0))).toBe(true);
    expect(await gate.publishPartial("k", at(8, -1, -1, true))).toBe(true);
    expect(await gate.publishPartial("k", at(8, 9, 0))).toBe(false);
    expect(await gate.partialPlaylist("k", 20, 0, 0)).toEqual({ playlist: at(8, -1, -1, true).playlist, reached: true });
    expect(await gate.partialPlaylist("other", null, null, 0)).toBeNull();
  });

  it("answers with what it holds at once, or after a wait, or says the request is too far ahead", async () => {
    const gate = playlistGateStub(env, "gatepart0002");
    await gate.publishPartial("k", at(6, 7, 1));
    expect(await gate.partialPlaylist("k", 6, null, 0)).toEqual({ playlist: at(6, 7, 1).playlist, reached: true });
    expect(await gate.partialPlaylist("k", 7, 1, 0)).toEqual({ playlist: at(6, 7, 1).playlist, reached: true });
    // Without a part, segment 7 is there once it is whole.
    expect(await gate.partialPlaylist("k", 7, null, 0)).toEqual({ playlist: at(6, 7, 1).playlist, reached: false });
    expect(await gate.partialPlaylist("k", 10, null, 0)).toEqual({ tooFar: true, last: 7 });
    const part2 = gate.partialPlaylist("k", 7, 2, 5000);
    const whole = gate.partialPlaylist("k", 7, null, 300);
    await gate.publishPartial("k", at(6, 7, 2));
    expect(await part2).toEqual({ playlist: at(6, 7, 2).playlist, reached: true });
    expect(await whole).toEqual({ playlist: at(6, 7, 2).playlist, reached: false });
  });
});

describe("a partial playlist whose notices have stopped", () => {
  afterEach(() => vi.useRealTimers());

  it("is no longer served: the stored playlist answers again", async () => {
    const { id, path } = await stream();
    await publish(id, llPlaylist(6, 2));
    expect(await body(await call(`${path}?_HLS_msn=6`))).toBe(llPlaylist(6, 2).playlist);
    // The gate runs in this isolate: its clock moves with the test's.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31_000);
    expect(await body(await call(`${path}?_HLS_msn=5`))).toBe(storedPlaylist(5));
    // A new part's notice brings it back.
    await publish(id, llPlaylist(6, 3));
    expect(await body(await call(`${path}?_HLS_msn=7&_HLS_part=2`))).toBe(llPlaylist(6, 3).playlist);
  });
});
