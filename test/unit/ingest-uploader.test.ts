import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse as parseMpd } from "mpd-parser";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cacheControlFor } from "../../workers/shared/cache-policy";
import { dashManifestKey, masterPlaylistKey, renditionKey, segmentFileName, sessionMasterKey } from "../../workers/shared/layout";
import type { PutOptions } from "../../ingest-node/storage/object-store";
import { SessionUploader } from "../../ingest-node/uploader/uploader";
import { parseMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import { captureLogger, RecordingStore, waitFor } from "./ingest-fixtures";

/** The uploader on a hand-written spool directory: ordering, retries, coalescing, retention. */
const STREAM = "abcdefghijkl";
const SESSION = "sess0001";

/** Fails the next N puts, and can hold every put until released. */
class UnreliableStore extends RecordingStore {
  failures = 0;
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.gate = null;
  }
  override async put(key: string, body: Uint8Array, options: PutOptions): Promise<void> {
    await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("503 Service Unavailable");
    }
    await super.put(key, body, options);
  }
}

const master = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-STREAM-INF:BANDWIDTH=3220800,RESOLUTION=1280x720,CODECS="avc1.64001f"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1680800,RESOLUTION=854x480,CODECS="avc1.64001f"
480p/index.m3u8
`;

function playlist(init: string, from: number, to: number, ended = false): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", `#EXT-X-MEDIA-SEQUENCE:${from}`, `#EXT-X-MAP:URI="${init}"`];
  for (let n = from; n <= to; n++) lines.push("#EXTINF:2.000000,", segmentFileName(n));
  if (ended) lines.push("#EXT-X-ENDLIST");
  return `${lines.join("\n")}\n`;
}

describe("session uploader", () => {
  let spool: string;
  let store: UnreliableStore;
  let uploader: SessionUploader;
  const { logger, lines } = captureLogger("warn");

  beforeEach(async () => {
    lines.length = 0;
    spool = await mkdtemp(join(tmpdir(), "onair-uploader-"));
    store = new UnreliableStore();
    uploader = new SessionUploader({ store, streamId: STREAM, sessionId: SESSION, spoolDir: spool, renditions: ["720p", "480p"], logger });
    for (const [rendition, init] of [["720p", "init_0.mp4"], ["480p", "init_1.mp4"]] as const) {
      await mkdir(join(spool, rendition));
      await writeFile(join(spool, rendition, init), `${rendition} init`);
      for (let n = 1; n <= 12; n++) await writeFile(join(spool, rendition, segmentFileName(n)), `${rendition} segment ${n}`);
    }
  });
  afterEach(async () => {
    uploader.cancel();
    await rm(spool, { recursive: true, force: true });
  });

  const key = (rendition: string, file: string) => renditionKey(STREAM, SESSION, rendition, file);
  const order = () => store.puts.map((p) => p.key);

  it("stores init and segments before their playlist, and the master only once every rendition is playable", async () => {
    let liveEvents = 0;
    uploader.on("live", () => (liveEvents += 1));
    uploader.offerMaster(master);
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 1));
    await uploader.drain();
    expect(store.objects.has(masterPlaylistKey(STREAM))).toBe(false);

    uploader.offerPlaylist("480p", playlist("init_1.mp4", 1, 2));
    await uploader.drain();
    expect(order()).toEqual([
      key("720p", "init-1.mp4"), key("720p", "seg-00001.m4s"), key("720p", "index.m3u8"),
      key("480p", "init-1.mp4"), key("480p", "seg-00001.m4s"), key("480p", "seg-00002.m4s"), key("480p", "index.m3u8"),
      sessionMasterKey(STREAM, SESSION), masterPlaylistKey(STREAM),
    ]);
    expect(liveEvents).toBe(1);
    expect(store.text(key("480p", "index.m3u8"))).toContain('#EXT-X-MAP:URI="init-1.mp4"');
    expect(store.text(masterPlaylistKey(STREAM))).toContain(`\n${SESSION}/480p/index.m3u8\n`);
    // The session's own master sits next to its renditions.
    expect(store.text(sessionMasterKey(STREAM, SESSION))).toContain("\n480p/index.m3u8\n");
    expect(store.objects.get(key("720p", "init-1.mp4"))).toMatchObject({ contentType: "video/mp4", cacheControl: cacheControlFor({ kind: "init-segment" }) });
    expect(Buffer.from(store.objects.get(key("480p", "seg-00002.m4s"))!.body).toString()).toBe("480p segment 2");
  });

  it("announces each stored playlist with its last segment's number, only once that playlist is in the store", async () => {
    const notices: Array<{ rendition: string; mediaSequence: number; storedLast: number | undefined }> = [];
    uploader = new SessionUploader({
      store, streamId: STREAM, sessionId: SESSION, spoolDir: spool, renditions: ["720p", "480p"], logger,
      onPlaylistStored: (rendition, mediaSequence) => {
        // What a player woken by this notice would read from the store at that moment.
        const stored = store.text(key(rendition, "index.m3u8"));
        notices.push({ rendition, mediaSequence, storedLast: stored ? parseMediaPlaylist(stored).segments.at(-1)?.sequence : undefined });
      },
    });
    store.failures = 1;
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    await uploader.drain();
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 3));
    uploader.offerPlaylist("480p", playlist("init_1.mp4", 1, 1));
    await uploader.drain();
    expect(notices).toEqual([
      { rendition: "720p", mediaSequence: 2, storedLast: 2 },
      { rendition: "720p", mediaSequence: 3, storedLast: 3 },
      { rendition: "480p", mediaSequence: 1, storedLast: 1 },
    ]);
  });

  it("retries failed puts without reordering them", async () => {
    store.failures = 3;
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    await uploader.drain();
    expect(order()).toEqual([key("720p", "init-1.mp4"), key("720p", "seg-00001.m4s"), key("720p", "seg-00002.m4s"), key("720p", "index.m3u8")]);
    expect(lines.filter((l) => l.includes("upload failed; retrying"))).toHaveLength(3);
  });

  it("stores a backlog segment by segment, then names it in one playlist", async () => {
    store.hold();
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 1));
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 3));
    store.open();
    await uploader.drain();
    expect(order()).toEqual([key("720p", "init-1.mp4"), ...[1, 2, 3].map((n) => key("720p", segmentFileName(n))), key("720p", "index.m3u8")]);
    expect(parseMediaPlaylist(store.text(key("720p", "index.m3u8"))!).segments.map((s) => s.uri)).toEqual([1, 2, 3].map(segmentFileName));
  });

  it("frees the spool once stored and the store beyond the retention margin as the window slides", async () => {
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 6));
    await uploader.drain();
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 7, 12));
    await uploader.drain();
    // Every segment is stored: none left in the spool. 1-2 are more than 4 behind the window: gone from the store.
    expect((await readdir(join(spool, "720p"))).filter((f) => f.startsWith("seg-"))).toEqual([]);
    expect(store.deleted).toEqual([key("720p", "seg-00001.m4s"), key("720p", "seg-00002.m4s")]);
    expect(store.objects.has(key("720p", "seg-00003.m4s"))).toBe(true);
  });

  it("ends playlists ffmpeg could not end, with the cache policy of an ended playlist", async () => {
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    uploader.offerPlaylist("480p", playlist("init_1.mp4", 1, 2, true));
    await uploader.endPlaylists();
    for (const rendition of ["720p", "480p"]) {
      const stored = store.objects.get(key(rendition, "index.m3u8"))!;
      expect(Buffer.from(stored.body).toString()).toMatch(/#EXT-X-ENDLIST\n$/);
      expect(stored.cacheControl).toBe(cacheControlFor({ kind: "media-playlist", ended: true }));
    }
    expect(parseMediaPlaylist(store.text(key("480p", "index.m3u8"))!).segments).toHaveLength(2);
  });

  it("continues a rendition's numbering in a new ffmpeg's directory after a discontinuity", async () => {
    const second = join(spool, "run-2");
    await mkdir(join(second, "720p"), { recursive: true });
    await writeFile(join(second, "720p", "init_0.mp4"), "720p init");
    for (const n of [1, 2]) await writeFile(join(second, "720p", segmentFileName(n)), `720p second run ${n}`);
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 3));
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2), second);
    await uploader.drain();
    const text = store.text(key("720p", "index.m3u8"))!;
    expect(parseMediaPlaylist(text).segments.map((s) => s.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(text).toContain("seg-00003.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000000,\nseg-00004.m4s");
    expect(Buffer.from(store.objects.get(key("720p", "seg-00005.m4s"))!.body).toString()).toBe("720p second run 2");
    // The same init bytes: stored once, named once.
    expect(order().filter((k) => k.includes("/init-"))).toEqual([key("720p", "init-1.mp4")]);
    expect(text.match(/#EXT-X-MAP/g)).toHaveLength(1);
  });

  it("gives a new ffmpeg whose media differs its own init segment, named after the discontinuity", async () => {
    const second = join(spool, "run-2");
    await mkdir(join(second, "720p"), { recursive: true });
    await writeFile(join(second, "720p", "init_0.mp4"), "a 1080p init");
    await writeFile(join(second, "720p", segmentFileName(1)), "1080p segment");
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 1));
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 1), second);
    await uploader.drain();
    expect(Buffer.from(store.objects.get(key("720p", "init-2.mp4"))!.body).toString()).toBe("a 1080p init");
    expect(order().indexOf(key("720p", "init-2.mp4"))).toBeLessThan(order().indexOf(key("720p", "seg-00002.m4s")));
    expect(store.text(key("720p", "index.m3u8"))).toContain(
      '#EXT-X-MAP:URI="init-1.mp4"\n#EXTINF:2.000000,\nseg-00001.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-2.mp4"\n#EXTINF:2.000000,\nseg-00002.m4s\n',
    );
  });

  it("records: keeps every segment and ends with one playlist over the whole session", async () => {
    uploader.cancel();
    uploader = new SessionUploader({ store, streamId: STREAM, sessionId: SESSION, spoolDir: spool, renditions: ["720p", "480p"], logger, record: true });
    uploader.offerMaster(master);
    for (const rendition of ["720p", "480p"]) uploader.offerPlaylist(rendition, playlist(rendition === "720p" ? "init_0.mp4" : "init_1.mp4", 1, 6));
    await uploader.drain();
    for (const rendition of ["720p", "480p"]) uploader.offerPlaylist(rendition, playlist(rendition === "720p" ? "init_0.mp4" : "init_1.mp4", 7, 12));
    await uploader.drain();
    expect(uploader.recording()).toBeNull();
    // The live playlist slides as usual...
    expect(parseMediaPlaylist(store.text(key("720p", "index.m3u8"))!).segments.map((s) => s.sequence)).toEqual([7, 8, 9, 10, 11, 12]);
    await uploader.endPlaylists();
    // ...but nothing was deleted, and the final playlist names all twelve.
    expect(store.deleted).toEqual([]);
    const vod = store.objects.get(key("720p", "index.m3u8"))!;
    expect(parseMediaPlaylist(Buffer.from(vod.body).toString()).segments.map((s) => s.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Buffer.from(vod.body).toString()).toContain("#EXT-X-PLAYLIST-TYPE:VOD\n");
    expect(vod.cacheControl).toBe(cacheControlFor({ kind: "media-playlist", ended: true }));
    expectEveryPlaylistNamesOnlyStoredSegments(store);
    expect(uploader.recording()).toMatchObject({ masterPath: `/${sessionMasterKey(STREAM, SESSION)}`, durationSeconds: 24, renditions: ["720p", "480p"] });
  });

  it("without recording, expires old segments and reports no recording", async () => {
    uploader.offerMaster(master);
    for (const rendition of ["720p", "480p"]) uploader.offerPlaylist(rendition, playlist(rendition === "720p" ? "init_0.mp4" : "init_1.mp4", 1, 12));
    await uploader.endPlaylists();
    expect(store.deleted.length).toBeGreaterThan(0);
    expect(uploader.recording()).toBeNull();
  });

  it("sheds a rendition: the masters stop naming it, then its playlist is deleted", async () => {
    uploader.offerMaster(master);
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    uploader.offerPlaylist("480p", playlist("init_1.mp4", 1, 2));
    await uploader.drain();
    expect(store.text(masterPlaylistKey(STREAM))).toContain("/720p/index.m3u8");
    await uploader.shedRenditions(["720p"]);
    const streamMaster = store.text(masterPlaylistKey(STREAM))!;
    expect(streamMaster).not.toContain("720p");
    expect(streamMaster).toContain(`${SESSION}/480p/index.m3u8`);
    expect(store.text(sessionMasterKey(STREAM, SESSION))).not.toContain("720p");
    expect(store.deleted).toEqual([key("720p", "index.m3u8")]);
    expect(order().lastIndexOf(masterPlaylistKey(STREAM))).toBeGreaterThan(-1);
    // Later output of the shed rendition is ignored.
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 4));
    await uploader.drain();
    expect(store.objects.has(key("720p", "seg-00003.m4s"))).toBe(false);
  });

  it("rides out a store outage within a bounded spool: drops the oldest, counts and logs it, never lists an unstored segment", async () => {
    uploader.cancel();
    uploader = new SessionUploader({ store, streamId: STREAM, sessionId: SESSION, spoolDir: spool, renditions: ["720p"], logger, maxSpooledSegments: 3 });
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    await uploader.drain();
    store.failures = Number.POSITIVE_INFINITY;
    // ffmpeg keeps writing through the outage; its window slides as usual.
    for (let n = 3; n <= 9; n++) uploader.offerPlaylist("720p", playlist("init_0.mp4", Math.max(1, n - 5), n));
    await waitFor(() => lines.filter((l) => l.includes("upload failed; retrying")).length >= 2, 10_000);
    store.failures = 0;
    await uploader.drain();

    expect(uploader.droppedSegments).toBe(4);
    expect(lines.filter((l) => l.includes("spool full: dropped the oldest unstored segments"))).toHaveLength(4);
    expect(lines.some((l) => /"dropped":1,"droppedTotal":4,.*"spool full/.test(l))).toBe(true);
    // The dropped ones are gone from the disk, the stored ones too: only what ffmpeg has not listed yet is left.
    expect((await readdir(join(spool, "720p"))).filter((f) => f.startsWith("seg-")).sort()).toEqual([10, 11, 12].map(segmentFileName));
    const stored = store.text(key("720p", "index.m3u8"))!;
    // Segments 1-2 before the outage, then 7-9 (3-6 dropped) stored as 3-5 after a discontinuity.
    expect(parseMediaPlaylist(stored).segments.map((s) => s.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(stored).toContain("seg-00002.m4s\n#EXT-X-DISCONTINUITY\n");
    expect(Buffer.from(store.objects.get(key("720p", "seg-00003.m4s"))!.body).toString()).toBe("720p segment 7");
    expectEveryPlaylistNamesOnlyStoredSegments(store);
  }, 20_000);
});

/** Replays the puts in order: each playlist may name only segments already put (and not deleted). */
function expectEveryPlaylistNamesOnlyStoredSegments(store: RecordingStore): void {
  const present = new Set<string>();
  for (const put of store.puts) {
    if (!put.key.endsWith("/index.m3u8")) {
      present.add(put.key);
      continue;
    }
    const dir = put.key.slice(0, put.key.lastIndexOf("/") + 1);
    for (const s of parseMediaPlaylist(Buffer.from(put.body).toString()).segments) expect(present.has(dir + s.uri), `${put.key} names ${s.uri}`).toBe(true);
  }
}

/**
 * The DASH manifest needs real CMAF (its timeline comes from the boxes): one short ffmpeg output of two
 * rungs and audio, copied into a fresh spool per test and offered run by run as ffmpeg would.
 */
describe("session uploader: the DASH manifest", () => {
  const RENDITIONS = ["360p", "180p", "audio"];
  const T0 = Date.UTC(2026, 6, 1, 12, 0, 0);
  const masterText = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="group_aud"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180,CODECS="avc1.64000c,mp4a.40.2",AUDIO="group_aud"
180p/index.m3u8
`;
  let fixture: string;
  /** each rendition's ffmpeg playlist: its init file and segment names */
  const inits = new Map<string, string>();
  let spool: string;
  let store: RecordingStore;
  let uploader: SessionUploader;
  let clock: number;
  /** when each MPD put began (real time) */
  let mpdPutTimes: number[];
  const { logger } = captureLogger("warn");

  beforeAll(async () => {
    fixture = await mkdtemp(join(tmpdir(), "onair-uploader-dash-fixture-"));
    await promisify(execFile)("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=sample_rate=48000",
      "-t", "6", "-filter_complex", "[0:v]split=2[a][b];[b]scale=320:180[c]", "-map", "[a]", "-map", "[c]", "-map", "1:a",
      "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac",
      "-f", "hls", "-hls_time", "2", "-hls_segment_type", "fmp4", "-hls_playlist_type", "vod",
      "-var_stream_map", "v:0,name:360p v:1,name:180p a:0,name:audio", "-start_number", "1",
      "-hls_segment_filename", join(fixture, "%v", "seg-%05d.m4s"), join(fixture, "%v", "index.m3u8"),
    ]);
    for (const r of RENDITIONS) inits.set(r, parseMediaPlaylist(await readFile(join(fixture, r, "index.m3u8"), "utf8")).initUri);
  });
  afterAll(async () => {
    await rm(fixture, { recursive: true, force: true });
  });
  beforeEach(async () => {
    spool = await mkdtemp(join(tmpdir(), "onair-uploader-dash-"));
    await cp(fixture, join(spool, "run-1"), { recursive: true });
    store = new RecordingStore();
    mpdPutTimes = [];
    const put = store.put.bind(store);
    store.put = async (key, body, options) => {
      if (key === dashManifestKey(STREAM)) mpdPutTimes.push(Date.now());
      return put(key, body, options);
    };
    clock = T0;
    uploader = new SessionUploader({ store, streamId: STREAM, sessionId: SESSION, spoolDir: join(spool, "run-1"), renditions: RENDITIONS, logger, now: () => clock });
  });
  afterEach(async () => {
    uploader.cancel();
    await rm(spool, { recursive: true, force: true });
  });

  const offer = (run: string, from: number, to: number) => {
    for (const r of RENDITIONS) uploader.offerPlaylist(r, playlist(inits.get(r)!, from, to), join(spool, run));
  };
  const mpd = () => parseMpd(store.text(dashManifestKey(STREAM))!, { manifestUri: `https://edge.example/${dashManifestKey(STREAM)}` });
  const mpdPuts = () => store.puts.filter((p) => p.key === dashManifestKey(STREAM));

  it("stores the MPD only once the stream's master is out, and only naming segments already stored", async () => {
    offer("run-1", 1, 1);
    await uploader.drain();
    // Every playlist is stored, but the master (what makes the stream live) is not offered yet.
    expect(mpdPuts()).toEqual([]);
    uploader.offerMaster(masterText);
    await uploader.drain();
    clock += 2000;
    offer("run-1", 1, 3);
    await uploader.drain();

    const keys = store.puts.map((p) => p.key);
    expect(keys.indexOf(dashManifestKey(STREAM))).toBeGreaterThan(keys.indexOf(masterPlaylistKey(STREAM)));
    // Coalesced: fewer puts than playlist puts, and (R2 takes about one write a second to a key) a second apart.
    expect(mpdPuts().length).toBeLessThan(store.puts.filter((p) => p.key.endsWith("/index.m3u8")).length);
    expect(mpdPuts().length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < mpdPutTimes.length; i++) expect(mpdPutTimes[i]! - mpdPutTimes[i - 1]!).toBeGreaterThanOrEqual(990);
    expect(mpdPuts().at(-1)).toMatchObject({ contentType: "application/dash+xml", cacheControl: cacheControlFor({ kind: "dash-manifest" }) });
    expectEveryManifestNamesOnlyStoredObjects(store);

    const text = store.text(dashManifestKey(STREAM))!;
    // The first segment stored (at T0) lasts 2 s (video) or 2.005 s (audio): the timeline starts that much before.
    const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(text)![1]!);
    expect([T0 - 2000, T0 - 2005]).toContain(ast);
    expect(text).toContain(`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/api/time"/>`);
    const manifest = mpd();
    expect(manifest.playlists.map((p) => p.attributes.RESOLUTION)).toEqual([{ width: 640, height: 360 }, { width: 320, height: 180 }]);
    expect(manifest.playlists[0]!.segments.map((s) => s.uri)).toEqual([1, 2, 3].map((n) => `${SESSION}/360p/${segmentFileName(n)}`));
    expect(manifest.playlists[0]!.segments.map((s) => s.duration)).toEqual([2, 2, 2]);
    expect(manifest.playlists[0]!.segments[0]!.map.uri).toBe(`${SESSION}/360p/init-1.mp4`);
    expect(manifest.mediaGroups.AUDIO.audio!.und!.playlists[0]!.segments).toHaveLength(3);
  });

  it("starts a new Period for a new ffmpeg, anchored where its first segment was stored", async () => {
    uploader.offerMaster(masterText);
    offer("run-1", 1, 3);
    await uploader.drain();
    // The publisher is back 20 s later: a new ffmpeg, its decode times from 0 again.
    await cp(fixture, join(spool, "run-2"), { recursive: true });
    clock += 20_000;
    offer("run-2", 1, 2);
    await uploader.drain();

    const text = store.text(dashManifestKey(STREAM))!;
    // Whichever rendition stores first anchors the run: 2 s of video or 2.005 s of audio before now.
    const starts = [...text.matchAll(/<Period id="([^"]+)" start="PT([0-9.]+)S">/g)].map((m) => [m[1], Number(m[2])] as const);
    expect(starts).toEqual([[`${SESSION}-1`, 0], [`${SESSION}-2`, expect.closeTo(20, 1)]]);
    const second = starts[1]![1];
    const video = mpd().playlists[0]!;
    expect(video.segments.map((s) => s.uri)).toEqual([1, 2, 3, 4, 5].map((n) => `${SESSION}/360p/${segmentFileName(n)}`));
    expect(video.segments.map((s) => s.presentationTime)).toEqual([0, 2, 4, second, second + 2]);
    expect(video.discontinuityStarts).toEqual([3]);
    // Same media: the second run's segments decode with the init segment already stored.
    expect(text).not.toContain("init-2.mp4");
    expectEveryManifestNamesOnlyStoredObjects(store);

    // The HLS playlists date every segment on the MPD's clock, the same for both renditions: segment n
    // starts where the MPD places it, the second run 20 s on.
    const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(text)![1]!);
    for (const rendition of RENDITIONS) {
      const hls = store.text(renditionKey(STREAM, SESSION, rendition, "index.m3u8"))!;
      const dates = [...hls.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(\S+)\n/g)].map((m) => Date.parse(m[1]!) - ast);
      expect(dates, rendition).toHaveLength(5);
      for (const [i, expected] of [0, 2, 4, second, second + 2].entries()) expect(dates[i]! / 1000, `${rendition} segment ${i + 1}`).toBeCloseTo(expected, 1);
    }
  });

  it("drops shed renditions from the MPD, and ends it with its duration but a live cache policy", async () => {
    uploader.offerMaster(masterText);
    offer("run-1", 1, 2);
    await uploader.drain();
    await uploader.shedRenditions(["360p"]);
    expect(mpd().playlists.map((p) => p.attributes.NAME)).toEqual(["180p"]);

    offer("run-1", 1, 3);
    await uploader.endPlaylists();
    const last = mpdPuts().at(-1)!;
    const text = Buffer.from(last.body).toString();
    expect(text).not.toContain("minimumUpdatePeriod");
    expect(text).toContain(' mediaPresentationDuration="PT6');
    expect(text).not.toContain("360p");
    // The key is the stream's and the next session rewrites it: never cached as final.
    expect(last.cacheControl).toBe(cacheControlFor({ kind: "dash-manifest" }));
    expectEveryManifestNamesOnlyStoredObjects(store);
  });
});

/** Replays the puts in order: each MPD may name only init segments and segments already put (and not deleted). */
function expectEveryManifestNamesOnlyStoredObjects(store: RecordingStore): void {
  const present = new Set<string>();
  let checked = 0;
  for (const put of store.puts) {
    if (!put.key.endsWith("/manifest.mpd")) {
      present.add(put.key);
      continue;
    }
    const base = `https://edge.example/${put.key}`;
    const manifest = parseMpd(Buffer.from(put.body).toString(), { manifestUri: base });
    const playlists = [...manifest.playlists, ...Object.values(manifest.mediaGroups.AUDIO).flatMap((g) => Object.values(g).flatMap((l) => l.playlists))];
    for (const s of playlists.flatMap((p) => p.segments)) {
      for (const url of [s.resolvedUri, s.map.resolvedUri]) expect(present.has(new URL(url).pathname.slice(1)), `${put.key} names ${url}`).toBe(true);
    }
    checked += 1;
  }
  expect(checked).toBeGreaterThan(0);
}
