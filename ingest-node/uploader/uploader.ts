import { EventEmitter } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { cacheControlFor } from "../../workers/shared/cache-policy";
import { CONTENT_TYPES, INIT_FILE, MEDIA_PLAYLIST_FILE, masterPlaylistKey, posterKey, renditionKey, type MediaKind } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import { rewriteMasterPlaylist } from "../packager/master-playlist";
import { parseMediaPlaylist } from "../packager/media-playlist";
import type { ObjectStore } from "../storage/object-store";
import { sameInitMedia } from "./init-segment";
import { Backoff, pause, retryUntilAborted } from "./retry";
import { RenditionTrack, type QueuedSegment, type StoredSegment } from "./rendition-track";

/**
 * Moves one session's ffmpeg output into the object store in an order that never shows a viewer a
 * dangling reference: a rendition's init segment and every segment a playlist names are stored before
 * that playlist (which we render: rendition-track.ts), and the master only once every rendition's
 * playlist is stored. One worker per rendition, so puts of one key never overlap. A store outage
 * holds segments in the spool and retries with backoff; past the spool bound the oldest unstored
 * segments are dropped (logged, counted), never a crash and never an unbounded disk.
 */
export interface SessionUploaderOptions {
  store: ObjectStore;
  streamId: string;
  sessionId: string;
  /** the first ffmpeg's output directory for this session */
  spoolDir: string;
  renditions: readonly string[];
  logger: Logger;
  /** unstored segments kept per rendition before the oldest are dropped */
  maxSpooledSegments?: number;
}

/** Segments a live playlist lists: enough for players that start three segments behind the edge. */
export const LIVE_WINDOW_SEGMENTS = 6;
/** Segments kept in the store behind the live window, for players still holding an older playlist. */
const RETAINED_BEHIND_WINDOW = 4;
const DEFAULT_MAX_SPOOLED_SEGMENTS = 150;

export interface SessionUploaderEvents {
  /** the master playlist is stored: viewers can start */
  live: [];
  /** a new ffmpeg wrote an init segment unlike the stored one: the session cannot continue in place */
  "format-changed": [rendition: string];
}

interface RenditionUpload {
  name: string;
  track: RenditionTrack;
  worker: Promise<void> | null;
  init: Buffer | null;
  playlistDirty: boolean;
  playlistStored: boolean;
  /** slid out of the window, deleted from the store once RETAINED_BEHIND_WINDOW further behind */
  retired: StoredSegment[];
  backoff: Backoff;
}

export class SessionUploader extends EventEmitter<SessionUploaderEvents> {
  private readonly renditions: Map<string, RenditionUpload>;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private masterText: string | null = null;
  private masterState: "waiting" | "publishing" | "published" = "waiting";
  private masterPublish: Promise<void> = Promise.resolve();
  /** segments dropped unstored because the spool bound was reached (a store outage outlasted it) */
  droppedSegments = 0;

  constructor(private readonly options: SessionUploaderOptions) {
    super();
    this.logger = options.logger.child({ component: "uploader" });
    const maxQueued = options.maxSpooledSegments ?? DEFAULT_MAX_SPOOLED_SEGMENTS;
    this.renditions = new Map(
      options.renditions.map((name) => [
        name,
        { name, track: new RenditionTrack(LIVE_WINDOW_SEGMENTS, maxQueued), worker: null, init: null, playlistDirty: false, playlistStored: false, retired: [], backoff: new Backoff() },
      ]),
    );
  }

  /** ffmpeg's playlist of one rendition, from the ffmpeg writing into dir (a new dir: a new ffmpeg). */
  offerPlaylist(rendition: string, text: string, dir = this.options.spoolDir): void {
    const upload = this.renditions.get(rendition);
    if (!upload || upload.track.ended) return;
    try {
      const dropped = upload.track.take(dir, parseMediaPlaylist(text));
      if (dropped.length > 0) void this.drop(upload, dropped);
    } catch (error) {
      return this.logger.error({ err: error, rendition }, "ffmpeg's playlist is unusable");
    }
    this.kick(upload);
  }

  offerMaster(text: string): void {
    this.masterText = text;
    this.publishMasterWhenReady();
  }

  /**
   * Stores the stream's thumbnail. Best effort and never retried: a poster that fails is replaced by the
   * next one ten seconds later, and nothing else waits on it.
   */
  offerPoster(jpeg: Uint8Array): void {
    this.put(posterKey(this.options.streamId), jpeg, "poster").catch((error: unknown) =>
      this.logger.warn({ err: error }, "poster upload failed; the next one replaces it"),
    );
  }

  /** Waits until everything offered so far is stored (or given up on through cancel()). */
  async drain(): Promise<void> {
    for (;;) {
      const busy = [...this.renditions.values()].map((r) => r.worker).filter((w): w is Promise<void> => w !== null);
      if (busy.length === 0) break;
      await Promise.all(busy);
    }
    await this.masterPublish;
  }

  /** Stores every playlist with EXT-X-ENDLIST once everything before it is stored. */
  async endPlaylists(): Promise<void> {
    for (const upload of this.renditions.values()) {
      if (upload.track.ended) continue;
      upload.track.ended = true;
      upload.playlistDirty = upload.playlistStored || upload.track.queue.length > 0;
      this.kick(upload);
    }
    await this.drain();
  }

  /** Stops retrying: what is not stored yet stays unstored. */
  cancel(): void {
    this.abort.abort();
  }

  private kick(upload: RenditionUpload): void {
    upload.worker ??= this.work(upload).finally(() => (upload.worker = null));
  }

  private async work(upload: RenditionUpload): Promise<void> {
    const { track } = upload;
    while (!this.abort.signal.aborted) {
      const head = track.queue[0];
      if (!head && !upload.playlistDirty) return;
      // A backlog is stored segment by segment first, then named by one playlist put.
      try {
        if (head) await this.storeSegment(upload, head);
        else await this.storePlaylist(upload);
        upload.backoff.reset();
      } catch (error) {
        if (error instanceof FormatChanged) {
          this.logger.error({ rendition: upload.name }, "a new ffmpeg's init segment differs from the stored one; the session cannot continue in place");
          this.emit("format-changed", upload.name);
          return;
        }
        if (this.abort.signal.aborted) return;
        const delay = upload.backoff.next();
        this.logger.warn({ err: error, rendition: upload.name, attempt: upload.backoff.attempt, nextDelayMs: delay, spooled: track.queue.length }, "upload failed; retrying");
        if (!(await pause(delay, this.abort.signal))) return;
      }
    }
  }

  private async storeSegment(upload: RenditionUpload, segment: QueuedSegment): Promise<void> {
    await this.ensureInit(upload, segment);
    const spoolPath = join(segment.dir, upload.name, segment.spoolUri);
    const name = upload.track.nameFor();
    await this.put(this.key(upload, name), await readFile(spoolPath), "media-segment");
    const out = upload.track.stored(segment);
    if (out === null) {
      // Dropped by the spool bound while its put was in flight: stored, but never listed.
      await this.options.store.delete([this.key(upload, name)]).catch(() => {});
      return;
    }
    await rm(spoolPath, { force: true });
    upload.playlistDirty = true;
    upload.retired.push(...out);
  }

  /** The layout has one init.mp4 per rendition and session: a later ffmpeg must describe the same media. */
  private async ensureInit(upload: RenditionUpload, segment: QueuedSegment): Promise<void> {
    const bytes = await readFile(join(segment.dir, upload.name, segment.initUri));
    if (upload.init === null) {
      await this.put(this.key(upload, INIT_FILE), bytes, "init-segment");
      upload.init = bytes;
    } else if (!sameInitMedia(upload.init, bytes)) {
      throw new FormatChanged();
    }
  }

  private async storePlaylist(upload: RenditionUpload): Promise<void> {
    upload.playlistDirty = false;
    try {
      await this.put(this.key(upload, MEDIA_PLAYLIST_FILE), Buffer.from(upload.track.render()), "media-playlist", upload.track.ended);
    } catch (error) {
      upload.playlistDirty = true;
      throw error;
    }
    upload.playlistStored = true;
    this.publishMasterWhenReady();
    await this.expire(upload);
  }

  /** Spool bound reached: the oldest unstored segments go, so a long outage costs old segments, not the disk. */
  private async drop(upload: RenditionUpload, dropped: QueuedSegment[]): Promise<void> {
    this.droppedSegments += dropped.length;
    this.logger.error(
      { rendition: upload.name, dropped: dropped.length, droppedTotal: this.droppedSegments, spooled: upload.track.queue.length },
      "spool full: dropped the oldest unstored segments",
    );
    await Promise.all(dropped.map((s) => rm(join(s.dir, upload.name, s.spoolUri), { force: true })));
  }

  private publishMasterWhenReady(): void {
    if (this.masterState !== "waiting" || this.masterText === null) return;
    const ready = [...this.renditions.values()].every((r) => r.playlistStored);
    if (!ready) return;
    const text = this.masterText;
    this.masterState = "publishing";
    this.masterPublish = this.publishMaster(text);
  }

  private async publishMaster(text: string): Promise<void> {
    try {
      const body = rewriteMasterPlaylist(text, this.options.sessionId, this.options.renditions);
      await this.put(masterPlaylistKey(this.options.streamId), Buffer.from(body), "master-playlist");
      this.masterState = "published";
      this.logger.info({ renditions: this.options.renditions }, "master playlist stored: the stream is live");
      this.emit("live");
    } catch (error) {
      // Wait for ffmpeg's next version of the master rather than give up on the session.
      this.masterState = "waiting";
      if (this.masterText === text) this.masterText = null;
      if (!this.abort.signal.aborted) this.logger.warn({ err: error }, "master playlist not published yet");
    }
  }

  /** Frees store space beyond the retention margin behind the window. */
  private async expire(upload: RenditionUpload): Promise<void> {
    const keepFrom = (upload.track.window[0]?.sequence ?? upload.track.nextSequence) - RETAINED_BEHIND_WINDOW;
    const expired = upload.retired.filter((s) => s.sequence < keepFrom);
    if (expired.length === 0) return;
    upload.retired = upload.retired.filter((s) => s.sequence >= keepFrom);
    const keys = expired.map((s) => this.key(upload, s.uri));
    // Best effort: a segment left behind costs storage, not correctness.
    await this.options.store.delete(keys).catch((error: unknown) => this.logger.warn({ err: error, keys }, "old segments not deleted"));
  }

  private key(upload: RenditionUpload, file: string): string {
    return renditionKey(this.options.streamId, this.options.sessionId, upload.name, file);
  }

  private async put(key: string, body: Uint8Array, kind: MediaKind, ended = false): Promise<void> {
    const options = { contentType: CONTENT_TYPES[kind], cacheControl: cacheControlFor({ kind, ended }) };
    if (kind !== "master-playlist") return this.options.store.put(key, body, options);
    await retryUntilAborted(() => this.options.store.put(key, body, options), {
      signal: this.abort.signal,
      onFailure: (error, attempt, nextDelayMs) => this.logger.warn({ err: error, key, attempt, nextDelayMs }, "upload failed; retrying"),
    });
  }
}

class FormatChanged extends Error {}
