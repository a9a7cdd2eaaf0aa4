import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { MEDIA_PLAYLIST_FILE, SEGMENT_FILE_PATTERN, initFileName, renditionKey } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import { parseMediaPlaylist } from "../packager/media-playlist";
import type { ObjectStore } from "../storage/object-store";
import type { DashPublisher } from "./dash-publisher";
import type { SessionJournal } from "./journal";
import { sameInitMedia } from "./init-segment";
import { putMedia } from "./put-media";
import { RenditionParts, type PartialPlaylistUpdate } from "./rendition-parts";
import { RenditionTrack, type QueuedSegment, type StoredSegment } from "./rendition-track";
import type { SegmentPart } from "../packager/part-reader";
import { Backoff, pause } from "./retry";

/**
 * One rendition's uploads, all by one worker so puts of one key never overlap: each segment, and the
 * init segment it decodes with, is stored before the playlist that names it; a backlog is stored segment
 * by segment, then named by one playlist put. A failed put is retried with backoff while the spool holds
 * what is not stored yet, up to its bound (rendition-track.ts). Segments that slid out of the window are
 * deleted a little later, unless the session is recorded.
 */
export interface RenditionUploadOptions {
  store: ObjectStore;
  streamId: string;
  sessionId: string;
  rendition: string;
  logger: Logger;
  /** cancels retries: what is not stored yet stays unstored */
  signal: AbortSignal;
  /** segments the live playlist lists */
  windowSegments: number;
  /** unstored segments kept before the oldest are dropped */
  maxSpooledSegments: number;
  /** keep every segment; once ended the playlist lists the whole session */
  record: boolean;
  /** reads what the DASH manifest needs from the media as it is stored */
  dash: DashPublisher;
  /** notes each stored segment on disk, for ending the session after a crash */
  journal?: SessionJournal;
  /** the playlist was stored, listing up to `lastSequence` (null: none yet): the masters and the MPD may follow */
  onPlaylistStored: (rendition: string, lastSequence: number | null) => void;
  /** the spool bound dropped this many unstored segments; returns the session's total */
  onDropped: (count: number) => number;
  /** LL-HLS parts (rendition-parts.ts): the longest part, and where its LL playlist goes; without them, no parts */
  parts?: { targetSeconds: number; publish: (update: PartialPlaylistUpdate) => Promise<void> };
}

/** Segments kept in the store behind the live window, for players still holding an older playlist. */
const RETAINED_BEHIND_WINDOW = 4;

export class RenditionUpload {
  readonly name: string;
  readonly track: RenditionTrack;
  private worker: Promise<void> | null = null;
  private readonly backoff = new Backoff();
  /** the init segment stored last, which later ffmpegs' segments reuse if their media is the same */
  private init: { file: string; bytes: Buffer } | null = null;
  /** stored init file per ffmpeg init segment (path in the spool), so each is read and compared once */
  private readonly initFiles = new Map<string, string>();
  private initGenerations = 0;
  private playlistDirty = false;
  private stored = false;
  /** slid out of the window, deleted from the store once RETAINED_BEHIND_WINDOW further behind */
  private retired: StoredSegment[] = [];

  private readonly parts: RenditionParts | null;

  constructor(private readonly options: RenditionUploadOptions) {
    this.name = options.rendition;
    this.track = new RenditionTrack(options.windowSegments, options.maxSpooledSegments, options.record);
    const { parts, store, dash, logger } = options;
    this.parts = parts
      ? new RenditionParts({
          store, dash, logger, rendition: this.name, track: this.track, wallClock: this.wallClock,
          key: (file) => this.key(file), partTargetSeconds: parts.targetSeconds, publish: parts.publish,
        })
      : null;
  }

  /** Whether its playlist has been stored at least once. */
  get playlistStored(): boolean {
    return this.stored;
  }

  /** The worker, while it has something to store (parts and their notices included). */
  get inFlight(): Promise<void> | null {
    return this.worker ?? this.parts?.inFlight ?? null;
  }

  /** A fragment of the segment the ffmpeg writing into dir is still writing: an LL-HLS part. */
  offerPart(dir: string, part: SegmentPart): void {
    if (!this.track.ended) this.parts?.offer(dir, part);
  }

  /** ffmpeg's playlist, from the ffmpeg writing into dir (a new dir: a new ffmpeg). Ignored once ended. */
  offer(dir: string, text: string): void {
    if (this.track.ended) return;
    try {
      const dropped = this.track.take(dir, parseMediaPlaylist(text));
      if (dropped.length > 0) void this.drop(dropped);
    } catch (error) {
      return this.options.logger.error({ err: error, rendition: this.name }, "ffmpeg's playlist is unusable");
    }
    this.kick();
  }

  /** Stores the playlist with EXT-X-ENDLIST once everything before it is stored. */
  end(): void {
    if (this.track.ended) return;
    this.track.ended = true;
    this.playlistDirty = this.stored || this.track.queue.length > 0;
    this.kick();
  }

  /** Gives up what is not stored yet (the rendition is shed); resolves once the put under way is over. */
  async abandon(): Promise<void> {
    this.track.queue.length = 0;
    await this.worker;
    await this.parts?.discard();
  }

  private kick(): void {
    this.worker ??= this.work().finally(() => (this.worker = null));
  }

  private async work(): Promise<void> {
    const { signal, logger } = this.options;
    while (!signal.aborted) {
      const head = this.track.queue[0];
      if (!head && !this.playlistDirty) return;
      try {
        if (head) await this.storeSegment(head);
        else await this.storePlaylist();
        this.backoff.reset();
      } catch (error) {
        if (signal.aborted) return;
        const delay = this.backoff.next();
        logger.warn({ err: error, rendition: this.name, attempt: this.backoff.attempt, nextDelayMs: delay, spooled: this.track.queue.length }, "upload failed; retrying");
        if (!(await pause(delay, signal))) return;
      }
    }
  }

  private async storeSegment(segment: QueuedSegment): Promise<void> {
    const initFile = await this.storedInit(segment);
    const spoolPath = join(segment.dir, this.name, segment.spoolUri);
    const name = this.track.nameFor();
    const bytes = await readFile(spoolPath);
    await putMedia(this.options.store, this.key(name), bytes, "media-segment");
    const media = this.options.dash.readSegment(this.name, initFile, bytes);
    const out = this.track.stored(segment, initFile, media);
    if (out === null) {
      // Dropped by the spool bound while its put was in flight: stored, but never listed.
      await this.options.store.delete([this.key(name)]).catch(() => {});
      return;
    }
    if (media) this.options.dash.anchorRun(segment.dir, this.name, initFile, media);
    this.parts?.segmentStored(this.track.window.at(-1)!.sequence, segment.dir, Number(SEGMENT_FILE_PATTERN.exec(segment.spoolUri)?.[1]));
    await this.options.journal?.stored(this.name, this.track.window.at(-1)!);
    await rm(spoolPath, { force: true });
    this.playlistDirty = true;
    if (!this.options.record) this.retired.push(...out);
  }

  /**
   * The stored init file a segment decodes with. A later ffmpeg describing the same media reuses the one
   * stored (players then keep their decoder across the discontinuity); different media (a new ladder, a
   * publisher back with another format) gets the next init-<n>.mp4, named by the playlists from there on.
   */
  private async storedInit(segment: QueuedSegment): Promise<string> {
    const spoolPath = join(segment.dir, this.name, segment.initUri);
    const known = this.initFiles.get(spoolPath);
    if (known) return known;
    const bytes = await readFile(spoolPath);
    if (this.init === null || !sameInitMedia(this.init.bytes, bytes)) {
      const file = initFileName(this.initGenerations + 1);
      await putMedia(this.options.store, this.key(file), bytes, "init-segment");
      this.options.dash.readInit(this.name, file, bytes);
      this.initGenerations += 1;
      if (this.init !== null) this.options.logger.warn({ rendition: this.name, init: file }, "a new ffmpeg's media differs from the last; its segments get a new init segment");
      this.init = { file, bytes };
    }
    this.initFiles.set(spoolPath, this.init.file);
    return this.init.file;
  }

  private async storePlaylist(): Promise<void> {
    this.playlistDirty = false;
    try {
      await putMedia(this.options.store, this.key(MEDIA_PLAYLIST_FILE), Buffer.from(this.track.render(this.wallClock)), "media-playlist", this.track.ended);
    } catch (error) {
      this.playlistDirty = true;
      throw error;
    }
    this.stored = true;
    this.options.onPlaylistStored(this.name, this.track.window.at(-1)?.sequence ?? null);
    if (this.track.ended) await this.parts?.end();
    else this.parts?.playlistStored();
    await this.expire();
  }

  /** Spool bound reached: the oldest unstored segments go, so a long outage costs old segments, not the disk. */
  private async drop(dropped: QueuedSegment[]): Promise<void> {
    const droppedTotal = this.options.onDropped(dropped.length);
    this.options.logger.error(
      { rendition: this.name, dropped: dropped.length, droppedTotal, spooled: this.track.queue.length },
      "spool full: dropped the oldest unstored segments",
    );
    await Promise.all(dropped.map((s) => rm(join(s.dir, this.name, s.spoolUri), { force: true })));
  }

  /** Frees store space beyond the retention margin behind the window; a recording keeps everything. */
  private async expire(): Promise<void> {
    if (this.options.record) return;
    const keepFrom = (this.track.window[0]?.sequence ?? this.track.nextSequence) - RETAINED_BEHIND_WINDOW;
    const expired = this.retired.filter((s) => s.sequence < keepFrom);
    if (expired.length === 0) return;
    this.retired = this.retired.filter((s) => s.sequence >= keepFrom);
    const keys = expired.map((s) => this.key(s.uri));
    // Best effort: a segment left behind costs storage, not correctness.
    await this.options.store.delete(keys).catch((error: unknown) => this.options.logger.warn({ err: error, keys }, "old segments not deleted"));
  }

  /** Where a stored segment starts on the wall clock: the DASH timeline's run clock (its playlist date). */
  private readonly wallClock = (s: StoredSegment): number | null =>
    s.media ? this.options.dash.wallClockMs(s.run, this.name, s.initFile, s.media) : null;

  private key(file: string): string {
    return renditionKey(this.options.streamId, this.options.sessionId, this.name, file);
  }
}
