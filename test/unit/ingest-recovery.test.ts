import { mkdir, mkdtemp, readdir, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheControlFor } from "../../workers/shared/cache-policy";
import { renditionKey, segmentFileName, sessionMasterPath } from "../../workers/shared/layout";
import { parseMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import { endOrphanedSessions, findOrphanedSessions } from "../../ingest-node/session/orphan-recovery";
import { SessionJournal } from "../../ingest-node/uploader/journal";
import type { IngestEvent, PartialPlaylistNotice } from "../../workers/shared/ingest-api";
import { captureLogger, RecordingStore } from "./ingest-fixtures";

/**
 * An ingest node that died mid-session left its spool and journal on disk; the next start ends that
 * session: closed playlists in the store, "idle" (and the recording) told to the edge, the spool gone.
 */
const STREAM = "abcdefghijkl";
const SESSION = "mwcrash00001";

describe("ending the sessions a dead ingest process left behind", () => {
  let workDir: string;
  let store: RecordingStore;
  /** what the edge was told */
  let events: IngestEvent[];
  const log = captureLogger("info");

  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), "onair-recovery-test-"));
    events = [];
    endedPlaylists.length = 0;
    store = new RecordingStore();
    log.lines.length = 0;
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  /** What a session that stored `count` segments per rendition, then died, leaves on disk. */
  async function crashedSession(record: boolean, count: number, unstored: number) {
    const dir = join(workDir, STREAM, SESSION);
    const journal = new SessionJournal(dir);
    await journal.describe({ streamId: STREAM, sessionId: SESSION, record, startedAt: "2026-11-25T10:00:00.000Z" });
    await journal.markLive(new Date("2026-11-25T10:00:05.000Z"));
    for (const rendition of ["720p", "audio"]) {
      for (let n = 1; n <= count; n++) {
        // A reconnect after segment 4: a discontinuity, and new media for the video.
        const initFile = rendition === "720p" && n > 4 ? "init-2.mp4" : "init-1.mp4";
        await journal.stored(rendition, { sequence: n, uri: segmentFileName(n), duration: 2, discontinuity: n === 5, initFile });
      }
    }
    // The process died while appending: a half-written line.
    await appendFile(join(dir, "stored", "720p.jsonl"), '{"sequence":');
    await mkdir(join(dir, "run-2", "720p"), { recursive: true });
    for (let n = 1; n <= unstored; n++) await writeFile(join(dir, "run-2", "720p", segmentFileName(n)), "finished, never stored");
    return dir;
  }

  const endedPlaylists: PartialPlaylistNotice[] = [];
  const edge = {
    sendEvent: async (event: IngestEvent) => {
      events.push(event);
      return "recorded" as const;
    },
    partialPlaylist: async (notice: PartialPlaylistNotice) => void endedPlaylists.push(notice),
  };
  const endAll = async () => endOrphanedSessions(await findOrphanedSessions(workDir), { workDir, store, edge, logger: log.logger });

  it("closes a live window's playlists where the session stopped, and tells the edge it is idle", async () => {
    const dir = await crashedSession(false, 9, 2);
    await endAll();
    const text = store.text(renditionKey(STREAM, SESSION, "720p", "index.m3u8"))!;
    const playlist = parseMediaPlaylist(text);
    expect(playlist.ended).toBe(true);
    expect(playlist.segments.map((s) => s.sequence)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(text).toContain("seg-00004.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-2.mp4\"\n#EXTINF:2.000000,\nseg-00005.m4s");
    expect(store.objects.get(renditionKey(STREAM, SESSION, "audio", "index.m3u8"))!.cacheControl).toBe(cacheControlFor({ kind: "media-playlist", ended: true }));
    expect(events).toEqual([{ streamId: STREAM, sessionId: SESSION, type: "idle" }]);
    // The edge's in-memory LL playlists (parts) are replaced by the ended ones at once.
    expect(endedPlaylists.map(({ rendition, lastSegment, lastPartSegment, lastPart, ended }) => ({ rendition, lastSegment, lastPartSegment, lastPart, ended }))).toEqual(
      expect.arrayContaining(["720p", "audio"].map((rendition) => ({ rendition, lastSegment: 9, lastPartSegment: -1, lastPart: -1, ended: true }))),
    );
    expect(endedPlaylists.find((n) => n.rendition === "720p")!.playlist).toBe(text);
    expect(log.lines.some((l) => /"lostSegments":2,.*ended a session the previous process left live/.test(l))).toBe(true);
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });

  it("ends a recorded session with its whole-session playlists and announces the recording", async () => {
    await crashedSession(true, 9, 0);
    await endAll();
    const text = store.text(renditionKey(STREAM, SESSION, "720p", "index.m3u8"))!;
    expect(parseMediaPlaylist(text).segments.map((s) => s.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(text).toContain("#EXT-X-PLAYLIST-TYPE:VOD\n");
    expect(events.map((e) => e.type)).toEqual(["idle", "recording-ready"]);
    expect(events[1]!.recording).toMatchObject({
      masterPath: sessionMasterPath(STREAM, SESSION),
      durationSeconds: 18,
      startedAt: "2026-11-25T10:00:00.000Z",
      renditions: expect.arrayContaining(["720p", "audio"]),
    });
  });

  it("removes a spool left before its session was described, and touches nothing else", async () => {
    const dir = join(workDir, STREAM, "mwcrash00002");
    await mkdir(join(dir, "run-1"), { recursive: true });
    await mkdir(join(workDir, "not-a-stream"), { recursive: true });
    await endAll();
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
    expect(await readdir(workDir)).toEqual(expect.arrayContaining(["not-a-stream"]));
    expect(store.puts).toEqual([]);
    expect(events).toEqual([]);
  });
});
