import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { TARGET_DURATION_SECONDS } from "../../workers/shared/cache-policy";
import type { IngestEvent, PartialPlaylistNotice, RecordingInfo } from "../../workers/shared/ingest-api";
import { MEDIA_PLAYLIST_FILE, SEGMENT_FILE_PATTERN, SESSION_ID_PATTERN, STREAM_ID_PATTERN, renditionKey, sessionMasterPath } from "../../workers/shared/layout";
import type { EdgeClient } from "../edge-client";
import type { Logger } from "../logger";
import { renderMediaPlaylist } from "../packager/media-playlist";
import type { ObjectStore } from "../storage/object-store";
import { readDescriptor, readJournal, type JournalEntry, type SessionDescriptor } from "../uploader/journal";
import { putMedia } from "../uploader/put-media";
import { LIVE_WINDOW_SEGMENTS } from "../uploader/uploader";
import { RECORDING_READY_ATTEMPTS } from "./session-manager";

/**
 * Ends the sessions a previous ingest process was running when it died (a crash, a kill, a power cut):
 * their spool directories are still on disk, their playlists in the store never got EXT-X-ENDLIST and the
 * edge still shows the stream live. From each session's journal (uploader/journal.ts) the final playlists
 * are stored (a recorded session's over every segment it stored), then the edge hears "idle" (ignored if
 * the publisher is already back in a new session) and, for a recording, "recording-ready". Segments
 * ffmpeg finished but the dead process never stored are counted and logged: they are lost.
 */
export interface OrphanRecoveryOptions {
  workDir: string;
  store: ObjectStore;
  edge: Pick<EdgeClient, "sendEvent" | "partialPlaylist">;
  logger: Logger;
}

/** Session directories (<workDir>/<streamId>/<sessionId>) present now: at start-up, every one is an orphan. */
export async function findOrphanedSessions(workDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const streamId of await readdir(workDir).catch(() => [] as string[])) {
    if (!STREAM_ID_PATTERN.test(streamId)) continue;
    for (const sessionId of await readdir(join(workDir, streamId)).catch(() => [] as string[])) {
      if (SESSION_ID_PATTERN.test(sessionId)) found.push(join(workDir, streamId, sessionId));
    }
  }
  return found;
}

export async function endOrphanedSessions(dirs: readonly string[], options: OrphanRecoveryOptions): Promise<void> {
  for (const dir of dirs) {
    try {
      await endOrphanedSession(dir, options);
    } catch (error) {
      // Left on disk: the next start tries again.
      options.logger.error({ err: error, dir }, "could not end a session left by the previous process");
    }
  }
}

async function endOrphanedSession(dir: string, options: OrphanRecoveryOptions): Promise<void> {
  const descriptor = await readDescriptor(dir);
  if (!descriptor) {
    options.logger.warn({ dir }, "a spool without a session descriptor (the process died while starting it): removed");
    return rm(dir, { recursive: true, force: true });
  }
  const { streamId, sessionId } = descriptor;
  const log = options.logger.child({ streamId, sessionId, component: "recovery" });
  const journal = await readJournal(dir);
  for (const [rendition, entries] of journal) {
    if (entries.length === 0) continue;
    const text = renderFinalPlaylist(entries, descriptor.record);
    await putMedia(options.store, renditionKey(streamId, sessionId, rendition, MEDIA_PLAYLIST_FILE), Buffer.from(text), "media-playlist", true);
    await endPartialPlaylist(options, log, { streamId, sessionId, rendition, playlist: text, lastSegment: entries.at(-1)!.sequence, lastPartSegment: -1, lastPart: -1, ended: true });
  }
  const lost = await unstoredSegments(dir);
  log.warn({ renditions: [...journal.keys()], lostSegments: lost }, "ended a session the previous process left live: playlists closed");
  await send(options, log, { streamId, sessionId, type: "idle" });
  const recording = await recordingOf(dir, descriptor, journal);
  if (recording) await send(options, log, { streamId, sessionId, type: "recording-ready", recording }, RECORDING_READY_ATTEMPTS);
  await rm(dir, { recursive: true, force: true });
}

/** The playlist the session would have ended with: the whole session if recorded, else its last window. */
export function renderFinalPlaylist(entries: readonly JournalEntry[], record: boolean): string {
  const listed = record ? entries : entries.slice(-LIVE_WINDOW_SEGMENTS);
  const before = entries.slice(0, entries.length - listed.length);
  return renderMediaPlaylist({
    mediaSequence: listed[0]!.sequence,
    discontinuitySequence: record ? 0 : before.filter((s) => s.discontinuity).length,
    targetDuration: TARGET_DURATION_SECONDS,
    segments: listed,
    ended: true,
    vod: record,
  });
}

async function recordingOf(dir: string, descriptor: SessionDescriptor, journal: Map<string, JournalEntry[]>): Promise<RecordingInfo | null> {
  const renditions = [...journal].filter(([, entries]) => entries.length > 0).map(([name]) => name);
  if (!descriptor.record || !descriptor.liveAt || renditions.length === 0) return null;
  const seconds = Math.max(...renditions.map((name) => journal.get(name)!.reduce((sum, s) => sum + s.duration, 0)));
  // The journal's last write is when the last segment was stored: as near to the end as is known.
  const lastWrite = Math.max(...(await Promise.all(renditions.map((name) => stat(join(dir, "stored", `${name}.jsonl`)).then((s) => s.mtimeMs)))));
  return {
    masterPath: sessionMasterPath(descriptor.streamId, descriptor.sessionId),
    durationSeconds: Math.round(seconds * 1000) / 1000,
    startedAt: descriptor.startedAt,
    endedAt: new Date(lastWrite).toISOString(),
    renditions,
  };
}

/** Segment files still in the spool: finished by ffmpeg, never stored. */
async function unstoredSegments(dir: string): Promise<number> {
  let count = 0;
  for (const run of await readdir(dir).catch(() => [] as string[])) {
    if (!run.startsWith("run-")) continue;
    for (const rendition of await readdir(join(dir, run)).catch(() => [] as string[])) {
      const files = await readdir(join(dir, run, rendition)).catch(() => [] as string[]);
      count += files.filter((f) => SEGMENT_FILE_PATTERN.test(f)).length;
    }
  }
  return count;
}

/**
 * The edge may still serve the dead process's LL playlist (with parts) from memory: the ended playlist
 * replaces it at once. One attempt, like every LL notice: without it the edge drops that copy by itself
 * within half a minute (PlaylistGate) and serves the stored, ended one.
 */
async function endPartialPlaylist(options: OrphanRecoveryOptions, log: Logger, notice: PartialPlaylistNotice): Promise<void> {
  try {
    await options.edge.partialPlaylist(notice);
  } catch (error) {
    log.warn({ err: error, rendition: notice.rendition }, "the edge was not sent the ended playlist; it serves the stored one within half a minute");
  }
}

async function send(options: OrphanRecoveryOptions, log: Logger, event: IngestEvent, attempts?: number): Promise<void> {
  try {
    const outcome = await options.edge.sendEvent(event, attempts ? { attempts } : {});
    log.info({ outcome }, `edge told: ${event.type}`);
  } catch (error) {
    log.error({ err: error }, `the edge was not told: ${event.type}`);
  }
}
