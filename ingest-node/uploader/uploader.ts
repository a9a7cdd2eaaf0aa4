import { EventEmitter } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { TARGET_DURATION_SECONDS, cacheControlFor } from "../../workers/shared/cache-policy";
import type { RecordingInfo } from "../../workers/shared/ingest-api";
import {
  CONTENT_TYPES, MEDIA_PLAYLIST_FILE, dashManifestKey, initFileName, masterPlaylistKey, posterKey, renditionKey, sessionMasterKey, sessionMasterPath, type MediaKind,
} from "../../workers/shared/layout";
import type { Logger } from "../logger";
import { renderDashManifest, type DashInit, type DashRunClock, type SegmentMedia } from "../packager/dash-manifest";
import { rewriteMasterPlaylist } from "../packager/master-playlist";
import { parseMediaPlaylist } from "../packager/media-playlist";
import { fragmentTiming, initTiming, trackFacts } from "../packager/mp4-boxes";
import type { ObjectStore } from "../storage/object-store";
import { sameInitMedia } from "./init-segment";
import { Backoff, pause, retryUntilAborted } from "./retry";
import { RenditionTrack, type QueuedSegment, type StoredSegment } from "./rendition-track";

/**
 * Moves one session's ffmpeg output into the object store in an order that never shows a viewer a
 * dangling reference: a rendition's init segment and every segment a playlist names are stored before
 * that playlist (which we render: rendition-track.ts), and the masters (the session's own, then the
 * stream's) only once every rendition's playlist is stored. The DASH manifest follows the playlists once
 * the stream's master is out, rendered from the same stored windows (packager/dash-manifest.ts). One
 * worker per rendition, so puts of one key never overlap. A store outage holds segments in the spool and
 * retries with backoff; past the spool bound the oldest unstored segments are dropped (logged, counted),
 * never a crash and never an unbounded disk. A recorded session keeps every segment and ends with
 * whole-session playlists.
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
  /** keep every segment; at the end the playlists list the whole session (a recording) */
  record?: boolean;
  /** the wall clock the DASH manifest's timeline is anchored to (tests fix it) */
  now?: () => number;
}

/** Segments a live playlist lists: enough for players that start three segments behind the edge. */
export const LIVE_WINDOW_SEGMENTS = 6;
/** Segments kept in the store behind the live window, for players still holding an older playlist. */
const RETAINED_BEHIND_WINDOW = 4;
const DEFAULT_MAX_SPOOLED_SEGMENTS = 150;
/**
 * The DASH players' clock: the edge's GET /api/time (workers/routes/media.ts), an ISO date, never cached.
 * Relative: dash.js resolves it against the MPD's URL, so it is the edge that served the MPD.
 */
export const DASH_TIME_PATH = "/api/time";
/** How far behind the live edge DASH players play: three segments, as HLS players hold back. */
const DASH_PRESENTATION_DELAY_SEGMENTS = 3;
/**
 * R2 takes about one write a second to one key, and every rendition's playlist of a segment is stored
 * within a moment of the others': the MPD waits that moment, and is put at most once a second.
 */
const MANIFEST_SETTLE_MS = 250;
const MANIFEST_MIN_INTERVAL_MS = 1000;

export interface SessionUploaderEvents {
  /** the master playlist is stored: viewers can start */
  live: [];
}

interface RenditionUpload {
  name: string;
  track: RenditionTrack;
  worker: Promise<void> | null;
  /** the init segment stored last, which later ffmpegs' segments reuse if their media is the same */
  init: { file: string; bytes: Buffer } | null;
  /** stored init file per ffmpeg init segment (path in the spool), so each is read and compared once */
  initFiles: Map<string, string>;
  initGenerations: number;
  playlistDirty: boolean;
  playlistStored: boolean;
  /** slid out of the window, deleted from the store once RETAINED_BEHIND_WINDOW further behind */
  retired: StoredSegment[];
  backoff: Backoff;
  /** per stored init file: what the DASH manifest says of it (null: its boxes could not be read) */
  dashInits: Map<string, (DashInit & { defaultSampleDuration: number }) | null>;
}

export class SessionUploader extends EventEmitter<SessionUploaderEvents> {
  private readonly renditions: Map<string, RenditionUpload>;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  /** renditions in the masters: all of them until some are shed to keep up with live */
  private active: string[];
  /** the newest master from the spool (URIs relative to it), and the body last stored from it */
  private masterText: string | null = null;
  private storedMaster: string | null = null;
  private masterPublish: Promise<void> | null = null;
  private live = false;
  private readonly startedAt = new Date();
  private readonly now: () => number;
  /** per ffmpeg run (its directory), in order: where its media sits on the DASH timeline */
  private readonly runClocks = new Map<string, DashRunClock & { extentMs: number }>();
  private availabilityStartMs: number | null = null;
  private manifestDirty = false;
  private manifestPublish: Promise<void> | null = null;
  /** Date.now() of the last MPD put: pacing is real time, whatever clock the MPD is anchored to */
  private lastManifestPut = 0;
  private endedAt: Date | null = null;
  /** segments dropped unstored because the spool bound was reached (a store outage outlasted it) */
  droppedSegments = 0;

  constructor(private readonly options: SessionUploaderOptions) {
    super();
    this.logger = options.logger.child({ component: "uploader" });
    this.now = options.now ?? Date.now;
    const maxQueued = options.maxSpooledSegments ?? DEFAULT_MAX_SPOOLED_SEGMENTS;
    this.active = [...options.renditions];
    this.renditions = new Map(
      options.renditions.map((name) => [
        name,
        {
          name,
          track: new RenditionTrack(LIVE_WINDOW_SEGMENTS, maxQueued, options.record),
          worker: null,
          init: null,
          initFiles: new Map(),
          initGenerations: 0,
          playlistDirty: false,
          playlistStored: false,
          retired: [],
          backoff: new Backoff(),
          dashInits: new Map(),
        },
      ]),
    );
  }

  /** ffmpeg's playlist of one rendition, from the ffmpeg writing into dir (a new dir: a new ffmpeg). */
  offerPlaylist(rendition: string, text: string, dir = this.options.spoolDir): void {
    const upload = this.renditions.get(rendition);
    if (!upload || upload.track.ended || !this.active.includes(rendition)) return;
    try {
      const dropped = upload.track.take(dir, parseMediaPlaylist(text));
      if (dropped.length > 0) void this.drop(upload, dropped);
    } catch (error) {
      return this.logger.error({ err: error, rendition }, "ffmpeg's playlist is unusable");
    }
    this.kick(upload);
  }

  /** The master of the newest ffmpeg: published once every rendition is stored, and again when it changes. */
  offerMaster(text: string): void {
    this.masterText = text;
    this.publishMasterWhenReady();
  }

  /**
   * Renditions no longer produced (dropped to keep up with live): the masters stop naming them, then
   * their media playlists are deleted, so a player still on one gets a 404 and switches to another.
   */
  async shedRenditions(dropped: readonly string[]): Promise<void> {
    const shed = dropped.filter((name) => this.active.includes(name));
    if (shed.length === 0) return;
    this.active = this.active.filter((name) => !shed.includes(name));
    for (const name of shed) this.renditions.get(name)!.track.queue.length = 0;
    await Promise.all(shed.map((name) => this.renditions.get(name)!.worker));
    this.publishMasterWhenReady();
    await this.masterPublish;
    this.publishManifest();
    await this.manifestPublish;
    const keys = shed.map((name) => renditionKey(this.options.streamId, this.options.sessionId, name, MEDIA_PLAYLIST_FILE));
    await this.options.store.delete(keys).catch((error: unknown) => this.logger.warn({ err: error, keys }, "playlists of shed renditions not deleted"));
  }

  /** What a recorded session left in the store, once endPlaylists() is done; null if not recorded or never live. */
  recording(): RecordingInfo | null {
    if (!this.options.record || !this.live || !this.endedAt) return null;
    const seconds = Math.max(0, ...this.active.map((name) => this.renditions.get(name)!.track.storedSeconds));
    return {
      masterPath: sessionMasterPath(this.options.streamId, this.options.sessionId),
      durationSeconds: Math.round(seconds * 1000) / 1000,
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt.toISOString(),
      renditions: [...this.active],
    };
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
      const workers = [...this.renditions.values()].map((r) => r.worker);
      const busy = [...workers, this.masterPublish, this.manifestPublish].filter((w): w is Promise<void> => w !== null);
      if (busy.length === 0) break;
      await Promise.all(busy);
    }
  }

  /** Stores every playlist with EXT-X-ENDLIST once everything before it is stored. */
  async endPlaylists(): Promise<void> {
    this.endedAt ??= new Date();
    for (const upload of this.renditions.values()) {
      if (upload.track.ended || !this.active.includes(upload.name)) continue;
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
        if (this.abort.signal.aborted) return;
        const delay = upload.backoff.next();
        this.logger.warn({ err: error, rendition: upload.name, attempt: upload.backoff.attempt, nextDelayMs: delay, spooled: track.queue.length }, "upload failed; retrying");
        if (!(await pause(delay, this.abort.signal))) return;
      }
    }
  }

  private async storeSegment(upload: RenditionUpload, segment: QueuedSegment): Promise<void> {
    const initFile = await this.storedInit(upload, segment);
    const spoolPath = join(segment.dir, upload.name, segment.spoolUri);
    const name = upload.track.nameFor();
    const bytes = await readFile(spoolPath);
    await this.put(this.key(upload, name), bytes, "media-segment");
    const media = this.segmentMedia(upload, initFile, bytes);
    const out = upload.track.stored(segment, initFile, media);
    if (out === null) {
      // Dropped by the spool bound while its put was in flight: stored, but never listed.
      await this.options.store.delete([this.key(upload, name)]).catch(() => {});
      return;
    }
    if (media) this.anchorRun(segment.dir, media, upload.dashInits.get(initFile)!.timescale);
    await rm(spoolPath, { force: true });
    upload.playlistDirty = true;
    if (!this.options.record) upload.retired.push(...out);
  }

  /**
   * The stored init file a segment decodes with. A later ffmpeg describing the same media reuses the one
   * stored (players then keep their decoder across the discontinuity); different media (a new ladder, a
   * publisher back with another format) gets the next init-<n>.mp4, named by the playlists from there on.
   */
  private async storedInit(upload: RenditionUpload, segment: QueuedSegment): Promise<string> {
    const spoolPath = join(segment.dir, upload.name, segment.initUri);
    const known = upload.initFiles.get(spoolPath);
    if (known) return known;
    const bytes = await readFile(spoolPath);
    if (upload.init === null || !sameInitMedia(upload.init.bytes, bytes)) {
      const file = initFileName(upload.initGenerations + 1);
      await this.put(this.key(upload, file), bytes, "init-segment");
      upload.dashInits.set(file, this.dashInit(upload, bytes));
      upload.initGenerations += 1;
      if (upload.init !== null) this.logger.warn({ rendition: upload.name, init: file }, "a new ffmpeg's media differs from the last; its segments get a new init segment");
      upload.init = { file, bytes };
    }
    upload.initFiles.set(spoolPath, upload.init.file);
    return upload.init.file;
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
    this.publishManifest();
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
    if (this.masterPublish || this.masterText === null) return;
    const ready = this.active.every((name) => this.renditions.get(name)!.playlistStored);
    if (!ready) return;
    this.masterPublish = this.publishMasters().finally(() => {
      this.masterPublish = null;
    });
  }

  /** Stores the newest master until what is stored is current (a newer one may arrive meanwhile). */
  private async publishMasters(): Promise<void> {
    for (;;) {
      const text = this.masterText;
      if (text === null || this.abort.signal.aborted) return;
      const { streamId, sessionId } = this.options;
      let session: string;
      let stream: string;
      try {
        session = rewriteMasterPlaylist(text, null, this.active);
        stream = rewriteMasterPlaylist(text, sessionId, this.active);
      } catch (error) {
        // Wait for ffmpeg's next version of the master rather than give up on the session.
        if (this.masterText === text) this.masterText = null;
        return this.logger.warn({ err: error }, "master playlist not published yet");
      }
      if (stream === this.storedMaster) return;
      try {
        // The session's own master first: the stream's master is what starts players.
        await this.put(sessionMasterKey(streamId, sessionId), Buffer.from(session), "master-playlist");
        await this.put(masterPlaylistKey(streamId), Buffer.from(stream), "master-playlist");
      } catch (error) {
        if (!this.abort.signal.aborted) this.logger.warn({ err: error }, "master playlist not published");
        return;
      }
      this.storedMaster = stream;
      if (this.live) continue;
      this.live = true;
      this.logger.info({ renditions: this.active }, "master playlist stored: the stream is live");
      this.emit("live");
      this.publishManifest();
    }
  }

  /** The DASH facts of a stored init segment, or null (logged) if its boxes cannot be read. */
  private dashInit(upload: RenditionUpload, bytes: Uint8Array): (DashInit & { defaultSampleDuration: number }) | null {
    try {
      return { ...initTiming(bytes), track: trackFacts(bytes) };
    } catch (error) {
      this.logger.warn({ err: error, rendition: upload.name }, "init segment unreadable: its segments stay out of the DASH manifest");
      return null;
    }
  }

  /** A segment's decode time, duration and size; null (never listed in the MPD) if its boxes cannot be read. */
  private segmentMedia(upload: RenditionUpload, initFile: string, bytes: Uint8Array): SegmentMedia | null {
    const init = upload.dashInits.get(initFile);
    if (!init) return null;
    try {
      const timing = fragmentTiming(bytes, init.defaultSampleDuration);
      return timing.duration > 0 ? { ...timing, bytes: bytes.byteLength } : null;
    } catch {
      return null;
    }
  }

  /**
   * Places a run on the DASH timeline when its first segment is stored: its media started that segment's
   * duration before now, so no segment is ever announced before it is stored (the edge of the MPD's
   * timeline is where players play from). Never before the end of the run before it.
   */
  private anchorRun(run: string, media: SegmentMedia, timescale: number): void {
    const known = this.runClocks.get(run);
    if (known) {
      const end = Math.round((((media.decodeTime + media.duration) / timescale) - known.originTime / known.originTimescale) * 1000);
      known.extentMs = Math.max(known.extentMs, end);
      return;
    }
    const anchorMs = Math.round(this.now() - (media.duration / timescale) * 1000);
    this.availabilityStartMs ??= anchorMs;
    const previous = [...this.runClocks.values()].at(-1);
    const startMs = Math.max(anchorMs - this.availabilityStartMs, previous ? previous.startMs + previous.extentMs : 0);
    const extentMs = Math.round((media.duration / timescale) * 1000);
    // Period ids name the session too: a player that outlives the session never mistakes its Periods.
    const id = `${this.options.sessionId}-${this.runClocks.size + 1}`;
    this.runClocks.set(run, { run, id, startMs, originTime: media.decodeTime, originTimescale: timescale, extentMs });
  }

  /** Stores the MPD once more when the stored windows changed; one put at a time, the newest state wins. */
  private publishManifest(): void {
    if (!this.live) return;
    this.manifestDirty = true;
    this.manifestPublish ??= this.publishManifests().finally(() => {
      this.manifestPublish = null;
      // Dirtied after the loop's last look but before this ran: go again.
      if (this.manifestDirty && !this.abort.signal.aborted) this.publishManifest();
    });
  }

  private async publishManifests(): Promise<void> {
    const backoff = new Backoff();
    while (this.manifestDirty && !this.abort.signal.aborted) {
      const wait = Math.max(MANIFEST_SETTLE_MS, this.lastManifestPut + MANIFEST_MIN_INTERVAL_MS - Date.now());
      if (!(await pause(wait, this.abort.signal))) return;
      this.manifestDirty = false;
      const text = this.renderManifest();
      if (text === null) continue;
      this.lastManifestPut = Date.now();
      try {
        // Never with the ended policy, even the last one: the key is the stream's, and the next session's
        // MPD replaces it.
        await this.put(dashManifestKey(this.options.streamId), Buffer.from(text), "dash-manifest");
        backoff.reset();
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.manifestDirty = true;
        const delay = backoff.next();
        this.logger.warn({ err: error, attempt: backoff.attempt, nextDelayMs: delay }, "DASH manifest not stored; retrying");
        if (!(await pause(delay, this.abort.signal))) return;
      }
    }
  }

  private renderManifest(): string | null {
    if (this.availabilityStartMs === null) return null;
    const active = this.active.map((name) => this.renditions.get(name)!);
    const inits = (u: RenditionUpload) => new Map([...u.dashInits].filter((e): e is [string, DashInit & { defaultSampleDuration: number }] => e[1] !== null));
    return renderDashManifest({
      sessionId: this.options.sessionId,
      availabilityStartMs: this.availabilityStartMs,
      publishMs: this.now(),
      segmentSeconds: TARGET_DURATION_SECONDS,
      timeShiftBufferSeconds: LIVE_WINDOW_SEGMENTS * TARGET_DURATION_SECONDS,
      presentationDelaySeconds: DASH_PRESENTATION_DELAY_SEGMENTS * TARGET_DURATION_SECONDS,
      // Over once every segment offered is stored after endPlaylists().
      ended: this.endedAt !== null && active.every((u) => u.track.queue.length === 0),
      utcTimingUrl: DASH_TIME_PATH,
      clocks: [...this.runClocks.values()],
      renditions: active.map((u) => ({ name: u.name, segments: u.track.window, inits: inits(u) })),
    });
  }

  /** Frees store space beyond the retention margin behind the window; a recording keeps everything. */
  private async expire(upload: RenditionUpload): Promise<void> {
    if (this.options.record) return;
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
