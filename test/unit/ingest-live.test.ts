import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashManifestKey, masterPlaylistKey, PART_FILE_PATTERN, partFileName, posterKey, renditionKey, sessionPrefix } from "../../workers/shared/layout";
import { cacheControlFor } from "../../workers/shared/cache-policy";
import type { IngestNode } from "../../ingest-node/ingest-node";
import { parseMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import { captureLogger, publish, RecordingStore, startFakeEdge, startInProcessIngest, waitFor, type FakeEdge, type InProcessIngest } from "./ingest-fixtures";

/**
 * The ingest node in this process with real node-media-server and ffmpeg: a fake edge (the unit's
 * boundary) and an in-memory store that records the order of every put.
 */
const SECRET = "test-ingest-secret";
const KEY = `sk_${"a1".repeat(20)}`;
const OTHER_KEY_SAME_STREAM = `sk_${"b2".repeat(20)}`;
const STREAM_ID = "teststream01";

describe("ingest node: RTMP in, ordered HLS uploads out", () => {
  let edge: FakeEdge;
  let store: RecordingStore;
  let node: IngestNode;
  let workDir: string;
  const log = captureLogger();
  const { lines } = log;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    edge = await startFakeEdge(SECRET, { [KEY]: STREAM_ID, [OTHER_KEY_SAME_STREAM]: STREAM_ID });
    store = new RecordingStore();
    ingest = await startInProcessIngest({
      name: "ingest",
      secret: SECRET,
      edge,
      store,
      log,
      env: {
        // These tests are about one publish; reconnects are ingest-faults.test.ts's.
        ONAIR_RECONNECT_WINDOW_SECONDS: "0",
      },
    });
    ({ node, workDir } = ingest);
  });

  afterAll(async () => {
    await ingest?.stop();
  });

  it("refuses an unknown key before any transcoding, and stores nothing", async () => {
    const unknownKey = `sk_${"0".repeat(40)}`;
    const code = await publish({ url: `${node.rtmpUrl}/${unknownKey}`, seconds: 10 }).exited;
    // An admitted publisher would run its 10 s and exit 0.
    expect(code).not.toBe(0);
    expect(edge.authorizeCalls).toEqual([unknownKey]);
    expect(store.puts).toEqual([]);
    const log = lines.join("\n");
    expect(log).toMatch(/publish refused: unknown or revoked stream key/);
    expect(log).not.toContain(unknownKey);
    expect(log).not.toMatch(/ffmpeg started|source probed/);
  }, 30_000);

  it("publishes a live ABR ladder in a safe order, refuses second publishers, then ends it", async () => {
    const publisher = publish({ url: `${node.rtmpUrl}/${KEY}`, seconds: 60 });
    await waitFor(() => edge.events.some((e) => e.type === "live"), 20_000);

    // While it is live: the same key again, and another key of the same stream.
    const sameKey = await publish({ url: `${node.rtmpUrl}/${KEY}`, seconds: 5 }).exited;
    const otherKey = await publish({ url: `${node.rtmpUrl}/${OTHER_KEY_SAME_STREAM}`, seconds: 5 }).exited;
    expect(sameKey).not.toBe(0);
    expect(otherKey).not.toBe(0);

    const sessionId = edge.events[0]!.sessionId;
    const topPlaylist = () => store.text(renditionKey(STREAM_ID, sessionId, "720p", "index.m3u8"));
    await waitFor(() => (parseMediaPlaylistOrNull(topPlaylist())?.segments.length ?? 0) >= 4, 20_000);
    publisher.stop();
    await publisher.exited;
    await waitFor(() => edge.events.some((e) => e.type === "idle"), 20_000);

    // Events: live (with the renditions and the ladder decision) then idle, for one session; health
    // reports in between (ingest-health.test.ts).
    const [live, idle, ...more] = edge.events.filter((e) => e.type !== "health");
    expect(more).toEqual([]);
    expect(live).toMatchObject({ streamId: STREAM_ID, type: "live" });
    expect(idle).toEqual({ streamId: STREAM_ID, sessionId: live!.sessionId, type: "idle" });
    expect(live!.renditions).toEqual(["audio", "720p", "480p", "360p", "144p"]);
    expect(live!.health?.ladder).toEqual({ topRung: "passthrough", reason: expect.stringMatching(/^passthrough: H\.264 /) });

    // The master: every video rung (no upscale of the 720p source) sharing one audio group, all of it
    // pointing into this session.
    const master = store.text(masterPlaylistKey(STREAM_ID))!;
    expect(store.objects.get(masterPlaylistKey(STREAM_ID))?.cacheControl).toBe(cacheControlFor({ kind: "master-playlist" }));
    const variants = master.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF:"));
    expect(variants.map((v) => /RESOLUTION=(\d+x\d+)/.exec(v)?.[1])).toEqual(["1280x720", "854x480", "640x360", "256x144"]);
    for (const v of variants) expect(v).toMatch(/CODECS="avc1\.[0-9a-f]+,mp4a\.40\.2",AUDIO="group_aud"/);
    expect(master).toContain(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud"`);
    expect(master).toContain(`URI="${sessionId}/audio/index.m3u8"`);
    expect(master).toContain(`\n${sessionId}/720p/index.m3u8\n`);

    // Ordering: every playlist put names only init + segments put before it; the master came after
    // every rendition's first playlist.
    const putIndex = new Map<string, number>();
    const masterIndex = store.puts.findIndex((p) => p.key === masterPlaylistKey(STREAM_ID));
    store.puts.forEach((put, index) => {
      if (!put.key.endsWith("/index.m3u8")) return void (putIndex.has(put.key) || putIndex.set(put.key, index));
      const rendition = put.key.split("/").at(-2)!;
      const text = Buffer.from(put.body).toString("utf8");
      const playlist = parseMediaPlaylist(text);
      expect(playlist.initUri).toBe("init-1.mp4");
      for (const file of ["init-1.mp4", ...playlist.segments.map((s) => s.uri)]) {
        const stored = putIndex.get(renditionKey(STREAM_ID, sessionId, rendition, file));
        expect(stored, `${file} before ${put.key} #${index}`).toBeLessThan(index);
      }
      expect(put.cacheControl).toBe(cacheControlFor({ kind: "media-playlist", ended: playlist.ended }));
    });
    for (const rendition of live!.renditions!) {
      const firstPlaylist = store.puts.findIndex((p) => p.key === renditionKey(STREAM_ID, sessionId, rendition, "index.m3u8"));
      expect(firstPlaylist).toBeGreaterThanOrEqual(0);
      expect(firstPlaylist).toBeLessThan(masterIndex);
    }

    // The end: every final playlist says so, its segments are all still stored.
    for (const rendition of live!.renditions!) {
      const final = parseMediaPlaylist(store.text(renditionKey(STREAM_ID, sessionId, rendition, "index.m3u8"))!);
      expect(final.ended, `${rendition} ended`).toBe(true);
      expect(final.segments.length).toBeGreaterThanOrEqual(3);
      for (const s of final.segments) expect(store.objects.has(renditionKey(STREAM_ID, sessionId, rendition, s.uri))).toBe(true);
    }
    // The edge heard of every stored playlist, rendition by rendition in order, up to the last segment.
    for (const rendition of live!.renditions!) {
      const final = parseMediaPlaylist(store.text(renditionKey(STREAM_ID, sessionId, rendition, "index.m3u8"))!);
      const heardOf = () => edge.playlistNotices.filter((n) => n.sessionId === sessionId && n.rendition === rendition).map((n) => n.mediaSequence);
      // Notices are not ordered with the "idle" event: the last may still be on its way.
      await waitFor(() => heardOf().at(-1) === final.segments.at(-1)!.sequence, 5000).catch(() => undefined);
      const heard = heardOf();
      expect(heard.length, `${rendition} notices`).toBeGreaterThanOrEqual(2);
      expect(heard, `${rendition} notices in order`).toEqual([...heard].sort((a, b) => a - b));
      expect(heard.at(-1)).toBe(final.segments.at(-1)!.sequence);
    }
    // LL-HLS parts: each fragment of a growing segment was stored as a part, and the edge was sent the
    // playlist listing it. A whole segment's parts joined are that segment, byte for byte; the end sent
    // the final playlist and deleted every part.
    for (const rendition of ["720p", "480p", "audio"]) {
      const notices = edge.partialNotices.filter((n) => n.sessionId === sessionId && n.rendition === rendition);
      const putBody = (file: string) => store.puts.find((p) => p.key === renditionKey(STREAM_ID, sessionId, rendition, file))?.body;
      const withParts = notices.filter((n) => n.playlist.includes("#EXT-X-PART:"));
      expect(withParts.length, `${rendition} LL playlists`).toBeGreaterThanOrEqual(4);
      const joined = new Set<string>();
      for (const notice of withParts) {
        const target = Number(/^#EXT-X-PART-INF:PART-TARGET=([\d.]+)$/m.exec(notice.playlist)?.[1]);
        const groups = partGroups(notice.playlist);
        const newest = groups.filter((g) => g.parts.length > 0).at(-1)!;
        expect(newest.parts.at(-1)!.uri).toBe(partFileName(notice.lastPartSegment, notice.lastPart));
        for (const { segment, duration, parts } of groups) {
          for (const part of parts) {
            expect(part.duration, `${rendition} ${part.uri}`).toBeLessThanOrEqual(target);
            expect(putBody(part.uri), `${part.uri} stored`).toBeDefined();
          }
          if (segment === null || parts.length === 0 || joined.has(segment)) continue;
          expect(parts[0]!.independent).toBe(true);
          const same = Buffer.concat(parts.map((part) => putBody(part.uri)!)).equals(Buffer.from(putBody(segment)!));
          expect(same, `${rendition} ${segment} is its parts joined`).toBe(true);
          expect(parts.reduce((sum, part) => sum + part.duration, 0)).toBeCloseTo(duration!, 3);
          joined.add(segment);
        }
      }
      expect(joined.size, `${rendition} segments listed whole with their parts`).toBeGreaterThanOrEqual(2);
      const newestNotice = () => edge.partialNotices.filter((n) => n.sessionId === sessionId && n.rendition === rendition).at(-1)!;
      // Like the notices above, the last is not ordered with the "idle" event.
      await waitFor(() => newestNotice().ended, 5000);
      const last = newestNotice();
      expect(last.playlist).toMatch(/#EXT-X-ENDLIST\n$/);
      expect(last.playlist).not.toContain("#EXT-X-PART");
    }
    expect([...store.objects.keys()].filter((k) => PART_FILE_PATTERN.test(k.split("/").at(-1)!))).toEqual([]);

    const segment = store.objects.get(renditionKey(STREAM_ID, sessionId, "720p", "seg-00001.m4s"))!;
    expect(segment).toMatchObject({ contentType: "video/mp4", cacheControl: "public, max-age=31536000, immutable" });
    // The thumbnail for listings: a JPEG, cached briefly.
    const poster = store.objects.get(posterKey(STREAM_ID));
    expect(poster).toMatchObject({ contentType: "image/jpeg", cacheControl: cacheControlFor({ kind: "poster" }) });
    expect([...poster!.body.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    const streamLevelKeys = [masterPlaylistKey(STREAM_ID), dashManifestKey(STREAM_ID), posterKey(STREAM_ID)];
    expect([...store.objects.keys()].filter((k) => !streamLevelKeys.includes(k) && !k.startsWith(sessionPrefix(STREAM_ID, sessionId)))).toEqual([]);

    // Refusals were logged, keys redacted; the spool is cleaned up.
    const log = lines.join("\n");
    expect(log).toMatch(/publish refused: this stream key is already publishing/);
    expect(log).toMatch(/publish refused: this stream is already live from another publisher/);
    expect(log).not.toContain(KEY);
    expect(log).not.toContain(OTHER_KEY_SAME_STREAM);
    // Refused publishers' frames never reach the live transcode (node-media-server relays them otherwise).
    expect(log).not.toMatch(/Non-monotonous DTS|out of order|backward in time/);
    expect(await readdir(join(workDir, STREAM_ID))).toEqual([]);
    // The publisher leaving ended ffmpeg's input: it finished by itself, no signal needed.
    expect(log).toMatch(/"reason":"publisher-left","ffmpegExit":\{"code":0,"signal":null\},"msg":"session ended"/);
  }, 60_000);

  it("ends the session of a publisher that stops sending without disconnecting, and disconnects it", async () => {
    const stalledKey = `sk_${"e5".repeat(20)}`;
    const stalledStream = "stalledstrm1";
    edge.streams[stalledKey] = stalledStream;
    const publisher = publish({ url: `${node.rtmpUrl}/${stalledKey}`, seconds: 60 });
    await waitFor(() => edge.events.some((e) => e.streamId === stalledStream && e.type === "live"), 20_000);
    publisher.pause();
    const paused = Date.now();
    await waitFor(() => edge.events.some((e) => e.streamId === stalledStream && e.type === "idle"), 30_000);
    expect(Date.now() - paused).toBeLessThan(20_000);
    publisher.resume();
    expect(await publisher.exited).not.toBe(0);

    const sessionId = edge.events.find((e) => e.streamId === stalledStream)!.sessionId;
    for (const rendition of ["audio", "720p", "144p"]) {
      expect(store.text(renditionKey(stalledStream, sessionId, rendition, "index.m3u8"))).toMatch(/#EXT-X-ENDLIST\n$/);
    }
    const log = lines.join("\n");
    expect(log).toMatch(/no media from the publisher; ending the session/);
    expect(log).toMatch(/"reason":"source-stalled","ffmpegExit":\{"code":0,"signal":null\},"msg":"session ended"/);
  }, 60_000);
});

/** A playlist's EXT-X-PART runs, each with the whole segment that follows it (null: still growing). */
function partGroups(playlist: string) {
  type Part = { uri: string; duration: number; independent: boolean };
  const groups: { segment: string | null; duration: number | null; parts: Part[] }[] = [];
  let parts: Part[] = [];
  let duration: number | null = null;
  for (const line of playlist.split("\n")) {
    const part = /^#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)"(,INDEPENDENT=YES)?$/.exec(line);
    if (part) parts.push({ duration: Number(part[1]), uri: part[2]!, independent: part[3] !== undefined });
    const extinf = /^#EXTINF:([\d.]+),/.exec(line);
    if (extinf) duration = Number(extinf[1]);
    if (line !== "" && !line.startsWith("#")) {
      groups.push({ segment: line, duration, parts });
      parts = [];
    }
  }
  groups.push({ segment: null, duration: null, parts });
  return groups;
}

function parseMediaPlaylistOrNull(text: string | undefined) {
  return text === undefined ? null : parseMediaPlaylist(text);
}
