import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renditionKey, segmentFileName } from "../../workers/shared/layout";
import type { IngestNode } from "../../ingest-node/ingest-node";
import { parseMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import type { PutOptions } from "../../ingest-node/storage/object-store";
import { captureLogger, publish, RecordingStore, registerStreamKey, startFakeEdge, startInProcessIngest, waitFor, type FakeEdge, type InProcessIngest } from "./ingest-fixtures";

/**
 * Issue 7 with real node-media-server and ffmpeg in this process: ffmpeg killed, the encoder dropping
 * and coming back, the store failing for 10 s. Each stream must go on in the same session, numbering
 * continuing, the break marked, and no stored playlist naming a segment that is not stored.
 */
const SECRET = "test-ingest-secret";
const RECONNECT_WINDOW_SECONDS = 4;

/** Fails every put while `down`, like an object store that is unreachable. */
class OutageStore extends RecordingStore {
  down = false;
  failedPuts = 0;
  override async put(key: string, body: Uint8Array, options: PutOptions): Promise<void> {
    if (this.down) {
      this.failedPuts += 1;
      throw new Error("connect ECONNREFUSED (test outage)");
    }
    await super.put(key, body, options);
  }
}

describe("ingest node faults: nothing lost, nothing stuck", () => {
  let edge: FakeEdge;
  let store: OutageStore;
  let node: IngestNode;
  let workDir: string;
  const log = captureLogger();
  const { lines } = log;
  let ingest: InProcessIngest;
  const streams: Record<string, string> = {};
  const keyFor = (stream: string) => registerStreamKey(streams, stream);

  beforeAll(async () => {
    edge = await startFakeEdge(SECRET, streams);
    store = new OutageStore();
    ingest = await startInProcessIngest({
      name: "faults",
      secret: SECRET,
      edge,
      store,
      log,
      env: {
        ONAIR_RECONNECT_WINDOW_SECONDS: String(RECONNECT_WINDOW_SECONDS),
      },
    });
    ({ node, workDir } = ingest);
  });

  afterAll(async () => {
    await ingest?.stop();
  });

  // Health reports come and go every few seconds; these tests are about the session's life.
  const eventsOf = (stream: string) => edge.events.filter((e) => e.streamId === stream && e.type !== "health");
  const playlistPuts = (stream: string, rendition: string) =>
    store.puts.filter((p) => p.key.startsWith(`live/${stream}/`) && p.key.endsWith(`/${rendition}/index.m3u8`)).map((p) => Buffer.from(p.body).toString());
  const storedSegments = (stream: string, rendition: string) => {
    const sessionId = eventsOf(stream)[0]?.sessionId;
    const text = sessionId && store.text(renditionKey(stream, sessionId, rendition, "index.m3u8"));
    return text ? parseMediaPlaylist(text).segments.length : 0;
  };

  it("replaces a SIGKILLed ffmpeg at once; the playlists continue after a discontinuity", async () => {
    const stream = "killedffmpeg";
    const publisher = publish({ url: `${node.rtmpUrl}/${keyFor(stream)}`, seconds: 60 });
    await waitFor(() => eventsOf(stream).some((e) => e.type === "live"), 20_000);
    await waitFor(() => storedSegments(stream, "720p") >= 2, 20_000);
    const [first] = ffmpegPids(join(workDir, stream));
    expect(first).toBeDefined();
    const killedAt = Date.now();
    process.kill(first!, "SIGKILL");
    await waitFor(() => ffmpegPids(join(workDir, stream)).some((pid) => pid !== first), 10_000);
    console.log(`faults: a new ffmpeg ${Date.now() - killedAt} ms after SIGKILL`);
    const before = playlistPuts(stream, "720p").length;
    await waitFor(() => playlistPuts(stream, "720p").slice(before).some((t) => t.includes("#EXT-X-DISCONTINUITY\n")), 20_000);
    publisher.stop();
    await waitFor(() => eventsOf(stream).some((e) => e.type === "idle"), 30_000);

    expect(eventsOf(stream).map((e) => e.type)).toEqual(["live", "idle"]);
    for (const rendition of ["audio", "720p", "144p"]) expectContinuousTimeline(stream, eventsOf(stream)[0]!.sessionId, rendition, store);
    expect(lines.join("\n")).toMatch(/"ffmpegRuns":2,"reason":"publisher-left"/);
  }, 90_000);

  it("continues the same session when the encoder reconnects within the window, and ends it after the window", async () => {
    const stream = "encoderdrops";
    const key = keyFor(stream);
    const firstPublisher = publish({ url: `${node.rtmpUrl}/${key}`, seconds: 60 });
    await waitFor(() => storedSegments(stream, "720p") >= 2, 30_000);
    firstPublisher.stop();
    await firstPublisher.exited;
    const second = publish({ url: `${node.rtmpUrl}/${key}`, seconds: 60 });
    const before = playlistPuts(stream, "720p").length;
    await waitFor(() => playlistPuts(stream, "720p").slice(before).some((t) => t.includes("#EXT-X-DISCONTINUITY\n")), 30_000);
    // Nothing ended in between: one session, still live.
    expect(eventsOf(stream).map((e) => e.type)).toEqual(["live"]);
    expect(playlistPuts(stream, "720p").some((t) => t.includes("#EXT-X-ENDLIST"))).toBe(false);

    second.stop();
    await second.exited;
    await waitFor(() => eventsOf(stream).some((e) => e.type === "idle"), RECONNECT_WINDOW_SECONDS * 1000 + 20_000);
    const sessionId = eventsOf(stream)[0]!.sessionId;
    expect(eventsOf(stream)).toEqual([expect.objectContaining({ type: "live", sessionId }), { streamId: stream, sessionId, type: "idle" }]);
    for (const rendition of ["audio", "720p"]) {
      expectContinuousTimeline(stream, sessionId, rendition, store);
      expect(playlistPuts(stream, rendition).at(-1)).toMatch(/#EXT-X-ENDLIST\n$/);
    }
    const log = lines.join("\n");
    expect(log).toMatch(/publisher reconnected; the session continues/);
    expect(log).toMatch(/"ffmpegRuns":2,"reason":"publisher-left"/);
  }, 120_000);

  it("rides out a 10 s store outage: retries, then every segment stored in order, none ever listed before stored", async () => {
    const stream = "storeoutage1";
    const publisher = publish({ url: `${node.rtmpUrl}/${keyFor(stream)}`, seconds: 60 });
    await waitFor(() => storedSegments(stream, "720p") >= 2, 30_000);
    store.down = true;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    store.down = false;
    const before = playlistPuts(stream, "720p").length;
    await waitFor(() => playlistPuts(stream, "720p").length > before + 2, 30_000);
    publisher.stop();
    await waitFor(() => eventsOf(stream).some((e) => e.type === "idle"), RECONNECT_WINDOW_SECONDS * 1000 + 20_000);

    expect(store.failedPuts).toBeGreaterThan(0);
    expect(lines.join("\n")).toMatch(/upload failed; retrying/);
    expect(lines.join("\n")).not.toMatch(/spool full/);
    const sessionId = eventsOf(stream)[0]!.sessionId;
    for (const rendition of ["audio", "720p", "480p", "360p", "144p"]) {
      const puts = playlistPuts(stream, rendition);
      expectContinuousTimeline(stream, sessionId, rendition, store);
      // No segment lost: a single ffmpeg run, so no discontinuity at all.
      expect(puts.some((t) => t.includes("#EXT-X-DISCONTINUITY\n"))).toBe(false);
    }
  }, 120_000);
});

/** pids of the ffmpeg processes writing under dir (the transcoder's command line names its output) */
function ffmpegPids(dir: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", `ffmpeg .*${dir}/`], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Across every stored version of a rendition's playlist: media sequence numbers never go back, segment N
 * is always seg-N, and each version lists only segments stored before it. Across the session: segments
 * 1..last were all stored, in order, whether or not a playlist version happened to list them (after an
 * outage the backlog is stored first and one playlist names its newest part).
 */
function expectContinuousTimeline(stream: string, sessionId: string, rendition: string, store: RecordingStore): void {
  const key = (file: string) => renditionKey(stream, sessionId, rendition, file);
  const putAt = new Map<string, number>();
  let lastFirst = 0;
  let last = 0;
  store.puts.forEach((put, index) => {
    if (put.key !== key("index.m3u8")) return void (putAt.has(put.key) || putAt.set(put.key, index));
    const text = Buffer.from(put.body).toString();
    const first = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]);
    expect(first).toBeGreaterThanOrEqual(lastFirst);
    lastFirst = first;
    parseMediaPlaylist(text).segments.forEach((s, i) => {
      expect(s.sequence).toBe(first + i);
      expect(putAt.get(key(s.uri)), `${s.uri} stored before playlist put #${index}`).toBeLessThan(index);
      last = Math.max(last, s.sequence);
    });
  });
  expect(last).toBeGreaterThan(0);
  const storedAt = Array.from({ length: last }, (_, i) => putAt.get(key(segmentFileName(i + 1))));
  expect(storedAt.every((at) => at !== undefined)).toBe(true);
  expect(storedAt).toEqual([...storedAt].sort((a, b) => a! - b!));
}
