import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PART_FILE_PATTERN, partFileName, renditionKey } from "../../workers/shared/layout";
import type { Ladder } from "../../ingest-node/ladder/ladder";
import { partTargets } from "../../ingest-node/packager/dash-output";
import { PartReader, type SegmentPart } from "../../ingest-node/packager/part-reader";
import type { PutOptions } from "../../ingest-node/storage/object-store";
import type { PartialPlaylistUpdate } from "../../ingest-node/uploader/rendition-parts";
import { SessionUploader } from "../../ingest-node/uploader/uploader";
import { makeSource, muxerPlaylist, transcode } from "./ffmpeg-fixtures";
import { captureLogger, RecordingStore, waitFor } from "./ingest-fixtures";

/**
 * The uploader's LL-HLS parts on real output of the ladder's ffmpeg (its DASH muxer, fragment by
 * fragment), offered step by step as the watcher would: which segment a part is numbered for, what the
 * LL playlist lists, and what happens to parts when a storage outage makes the spool drop segments.
 */
const STREAM = "partsstream1";
const SESSION = "sess0001";

/** Fails segment puts (not parts) while `segmentsDown` is set. */
class SegmentOutageStore extends RecordingStore {
  segmentsDown = false;
  override async put(key: string, body: Uint8Array, options: PutOptions): Promise<void> {
    if (this.segmentsDown && /\/seg-\d+\.m4s$/.test(key)) throw new Error("503 Service Unavailable");
    await super.put(key, body, options);
  }
}

describe("LL-HLS parts in the uploader", () => {
  const { logger } = captureLogger("error");
  let dir: string;
  let fixture: string;
  let run: string;
  let ladder: Ladder;
  let rendition: string;
  let playlist: string;
  /** every part of every segment ffmpeg wrote, by its segment number */
  const partsOf = new Map<number, SegmentPart[]>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "onair-parts-"));
    const source = join(dir, "source.flv");
    await makeSource(source, { size: "640x360", rate: 30, seconds: 11, gop: 60, audio: "48000:2" });
    fixture = join(dir, "fixture");
    ({ ladder } = await transcode(source, fixture, logger));
    rendition = ladder.video[0]!.name;
    // Six segments, all within ffmpeg's six-segment window: its final playlist lists every one.
    playlist = await muxerPlaylist(fixture, ladder, rendition);
    expect(playlist).toContain("\nseg-00001.m4s\n");
    // Read as the watcher reads them, here from the finished files: every fragment, once.
    const reader = new PartReader(join(fixture, rendition));
    for (const part of await reader.read()) partsOf.set(part.segment, [...(partsOf.get(part.segment) ?? []), part]);
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let store: SegmentOutageStore;
  let uploader: SessionUploader;
  let updates: PartialPlaylistUpdate[];
  beforeEach(async () => {
    // A spool of its own: the uploader removes each segment from it once stored.
    run = await mkdtemp(join(dir, "run-"));
    await cp(fixture, run, { recursive: true, verbatimSymlinks: true });
    store = new SegmentOutageStore();
    updates = [];
    uploader = new SessionUploader({
      store, streamId: STREAM, sessionId: SESSION, spoolDir: run, renditions: [rendition], logger, maxSpooledSegments: 1,
      parts: { targets: partTargets(ladder), publish: async (_, update) => void updates.push(update) },
    });
  });

  /** ffmpeg's playlist as it was when it listed segments 1..last. */
  const listing = (last: number) => playlist.slice(0, playlist.indexOf(`seg-${String(last).padStart(5, "0")}.m4s`) + 14);
  const offerSegmentsTo = (last: number) => uploader.offerPlaylist(rendition, listing(last), run);
  const offerParts = (segment: number) => partsOf.get(segment)!.forEach((part) => uploader.offerPart(rendition, part, run));
  const key = (file: string) => renditionKey(STREAM, SESSION, rendition, file);
  const newest = () => updates.at(-1)!;

  it("numbers the growing segment's parts for the segment they become, lists them, then lists the segment whole with them", async () => {
    expect(partsOf.get(2)!.length).toBeGreaterThanOrEqual(4);
    offerSegmentsTo(1);
    await uploader.drain();
    // A run's first segment gets no parts (nothing of the run is stored yet to date it by).
    expect(store.puts.filter((p) => PART_FILE_PATTERN.test(p.key.split("/").at(-1)!))).toEqual([]);

    offerParts(2);
    await uploader.drain();
    const parts = partsOf.get(2)!;
    const growing = newest();
    expect(growing).toMatchObject({ lastSegment: 1, lastPartSegment: 2, lastPart: parts.length - 1, ended: false });
    parts.forEach((part, i) => expect(Buffer.from(store.objects.get(key(partFileName(2, i)))!.body)).toEqual(part.bytes));
    expect(growing.playlist).toMatch(new RegExp(`#EXT-X-PART:DURATION=[\\d.]+,URI="${partFileName(2, 0)}",INDEPENDENT=YES\n`));
    expect(growing.playlist).toMatch(new RegExp(`URI="${partFileName(2, parts.length - 1)}"\\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partFileName(2, parts.length)}"\\n$`));

    offerSegmentsTo(2);
    await uploader.drain();
    const whole = newest();
    expect(whole).toMatchObject({ lastSegment: 2, lastPartSegment: 2, lastPart: parts.length - 1 });
    expect(whole.playlist).toMatch(new RegExp(`URI="${partFileName(2, parts.length - 1)}"\\n#EXTINF:[\\d.]+,\\nseg-00002.m4s\\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partFileName(3, 0)}"\\n$`));
    // The parts joined are the segment stored.
    expect(Buffer.concat(parts.map((p) => p.bytes))).toEqual(Buffer.from(store.objects.get(key("seg-00002.m4s"))!.body));
  }, 30_000);

  it("forgets parts numbered for a segment that the spool bound then dropped, instead of listing them with other media", async () => {
    // One at a time: with a spool bound of one, two at once would drop the first.
    for (const last of [1, 2]) {
      offerSegmentsTo(last);
      await uploader.drain();
    }
    // Storage fails for segments: segment 3 waits in the spool while segment 4 grows. Its parts are
    // numbered 4 (3 is queued before it), and stored.
    store.segmentsDown = true;
    offerSegmentsTo(3);
    offerParts(4);
    await waitFor(() => store.objects.has(key(partFileName(4, 0))), 5000);
    // Segment 4 finishes: with a spool bound of one, segment 3 is dropped, so segment 4 becomes number 3.
    offerSegmentsTo(4);
    store.segmentsDown = false;
    await uploader.drain();
    expect(Buffer.from(store.objects.get(key("seg-00003.m4s"))!.body)).toEqual(await readFile(join(fixture, rendition, "seg-00004.m4s")));
    // The parts filed under 4 were cut from what is now number 3: gone from the playlist and the store.
    expect(store.objects.has(key(partFileName(4, 0)))).toBe(false);
    expect(newest().playlist).not.toMatch(/#EXT-X-PART:[^\n]*seg-00004/);
    // Segment 5 is stored as number 4; its parts are not the ones filed under 4 before.
    offerParts(5);
    offerSegmentsTo(5);
    await uploader.drain();
    expect(newest().playlist).toContain("\nseg-00004.m4s\n");
    partsOf.get(5)!.forEach((part, i) => {
      expect(newest().playlist).toContain(`URI="${partFileName(4, i)}"`);
      expect(Buffer.from(store.objects.get(key(partFileName(4, i)))!.body)).toEqual(part.bytes);
    });
  }, 30_000);
});
