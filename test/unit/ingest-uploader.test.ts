import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheControlFor } from "../../workers/shared/cache-policy";
import { masterPlaylistKey, renditionKey, segmentFileName } from "../../workers/shared/layout";
import type { PutOptions } from "../../ingest-node/storage/object-store";
import { SessionUploader } from "../../ingest-node/uploader/uploader";
import { captureLogger, RecordingStore } from "./ingest-fixtures";

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
      key("720p", "init.mp4"), key("720p", "seg-00001.m4s"), key("720p", "index.m3u8"),
      key("480p", "init.mp4"), key("480p", "seg-00001.m4s"), key("480p", "seg-00002.m4s"), key("480p", "index.m3u8"),
      masterPlaylistKey(STREAM),
    ]);
    expect(liveEvents).toBe(1);
    expect(store.text(key("480p", "index.m3u8"))).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(store.text(masterPlaylistKey(STREAM))).toContain(`\n${SESSION}/480p/index.m3u8\n`);
    expect(store.objects.get(key("720p", "init.mp4"))).toMatchObject({ contentType: "video/mp4", cacheControl: cacheControlFor({ kind: "init-segment" }) });
    expect(Buffer.from(store.objects.get(key("480p", "seg-00002.m4s"))!.body).toString()).toBe("480p segment 2");
  });

  it("retries failed puts without reordering them", async () => {
    store.failures = 3;
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    await uploader.drain();
    expect(order()).toEqual([key("720p", "init.mp4"), key("720p", "seg-00001.m4s"), key("720p", "seg-00002.m4s"), key("720p", "index.m3u8")]);
    expect(lines.filter((l) => l.includes("upload failed; retrying"))).toHaveLength(3);
  });

  it("skips playlist versions superseded while an upload was in flight", async () => {
    store.hold();
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 1));
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 2));
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 3));
    store.open();
    await uploader.drain();
    const stored = store.puts.filter((p) => p.key === key("720p", "index.m3u8")).map((p) => Buffer.from(p.body).toString());
    expect(stored).toHaveLength(2);
    expect(stored[1]).toBe(playlist("init.mp4", 1, 3));
  });

  it("frees the spool at once and the store beyond the retention margin as the window slides", async () => {
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 1, 6));
    await uploader.drain();
    uploader.offerPlaylist("720p", playlist("init_0.mp4", 7, 12));
    await uploader.drain();
    // Segments 1-6 left the playlist: gone from the spool. 1-2 are more than 4 behind it: gone from the store.
    expect((await readdir(join(spool, "720p"))).filter((f) => f.startsWith("seg-")).sort()).toEqual(
      [7, 8, 9, 10, 11, 12].map(segmentFileName),
    );
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
    // The one ffmpeg ended itself is not stored twice.
    expect(store.puts.filter((p) => p.key === key("480p", "index.m3u8"))).toHaveLength(1);
  });
});
