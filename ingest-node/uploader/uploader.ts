import { EventEmitter } from "node:events";
import type { RecordingInfo } from "../../workers/shared/ingest-api";
import { MEDIA_PLAYLIST_FILE, posterKey, renditionKey, sessionMasterPath } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import type { ObjectStore } from "../storage/object-store";
import { DashPublisher, type StoredWindows } from "./dash-publisher";
import { MasterPublisher } from "./master-publisher";
import { putMedia } from "./put-media";
import type { SessionJournal } from "./journal";
import type { SegmentPart } from "../packager/part-reader";
import type { PartialPlaylistUpdate } from "./rendition-parts";
import { RenditionUpload } from "./rendition-upload";

/**
 * Moves one session's ffmpeg output into the object store in an order that never shows a viewer a
 * dangling reference: a rendition's init segment and every segment a playlist names are stored before
 * that playlist (rendition-upload.ts, one worker per rendition), the masters only once every rendition's
 * playlist is stored (master-publisher.ts), and the DASH manifest after the stream's master, from the
 * same stored windows (dash-publisher.ts). A store outage holds segments in the spool and retries with
 * backoff; past the spool bound the oldest unstored segments are dropped (logged, counted), never a crash
 * and never an unbounded disk. A recorded session keeps every segment and ends with whole-session
 * playlists.
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
  /** notes what is stored on disk, so a crashed node can end the session when it starts again */
  journal?: SessionJournal;
  /** a rendition's playlist was stored and lists up to segment `mediaSequence` (the edge wakes its waiting players) */
  onPlaylistStored?: (rendition: string, mediaSequence: number) => void;
  /**
   * LL-HLS parts: the longest part per rendition (packager/dash-output.ts partTargets) and where each
   * rendition's LL playlist goes (the edge). Without them, segments are stored whole only.
   */
  parts?: { targets: ReadonlyMap<string, number>; publish: (rendition: string, update: PartialPlaylistUpdate) => Promise<void> };
}

/** Segments a live playlist lists: enough for players that start three segments behind the edge. */
export const LIVE_WINDOW_SEGMENTS = 6;
const DEFAULT_MAX_SPOOLED_SEGMENTS = 150;

export interface SessionUploaderEvents {
  /** the master playlist is stored: viewers can start */
  live: [];
}

export class SessionUploader extends EventEmitter<SessionUploaderEvents> {
  private readonly uploads: Map<string, RenditionUpload>;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private readonly masters: MasterPublisher;
  private readonly dash: DashPublisher;
  private readonly startedAt = new Date();
  private endedAt: Date | null = null;
  /** segments dropped unstored because the spool bound was reached (a store outage outlasted it) */
  droppedSegments = 0;

  constructor(private readonly options: SessionUploaderOptions) {
    super();
    this.logger = options.logger.child({ component: "uploader" });
    const { store, streamId, sessionId } = options;
    const shared = { store, streamId, sessionId, logger: this.logger, signal: this.abort.signal };
    this.dash = new DashPublisher({ ...shared, now: options.now ?? Date.now, windowSegments: LIVE_WINDOW_SEGMENTS, windows: () => this.storedWindows() });
    this.masters = new MasterPublisher({
      ...shared,
      renditions: options.renditions,
      playlistStored: (rendition) => this.upload(rendition).playlistStored,
      onLive: () => {
        this.emit("live");
        this.dash.start();
      },
    });
    const uploadOptions = {
      ...shared,
      windowSegments: LIVE_WINDOW_SEGMENTS,
      maxSpooledSegments: options.maxSpooledSegments ?? DEFAULT_MAX_SPOOLED_SEGMENTS,
      record: options.record ?? false,
      dash: this.dash,
      journal: options.journal,
      onPlaylistStored: (rendition: string, lastSequence: number | null) => {
        if (lastSequence !== null) options.onPlaylistStored?.(rendition, lastSequence);
        void this.masters.publishWhenReady();
        void this.dash.publish();
      },
      onDropped: (count: number) => (this.droppedSegments += count),
    };
    const partsOf = (name: string) => {
      const targetSeconds = options.parts?.targets.get(name);
      const publish = options.parts?.publish;
      return targetSeconds && publish ? { targetSeconds, publish: (update: PartialPlaylistUpdate) => publish(name, update) } : undefined;
    };
    this.uploads = new Map(options.renditions.map((name) => [name, new RenditionUpload({ ...uploadOptions, rendition: name, parts: partsOf(name) })]));
  }

  /** ffmpeg's playlist of one rendition, from the ffmpeg writing into dir (a new dir: a new ffmpeg). */
  offerPlaylist(rendition: string, text: string, dir = this.options.spoolDir): void {
    if (this.masters.renditions.includes(rendition)) this.upload(rendition).offer(dir, text);
  }

  /** A fragment of a segment ffmpeg is still writing into dir: an LL-HLS part. */
  offerPart(rendition: string, part: SegmentPart, dir = this.options.spoolDir): void {
    if (this.masters.renditions.includes(rendition)) this.upload(rendition).offerPart(dir, part);
  }

  /** The master of the newest ffmpeg: published once every rendition is stored, and again when it changes. */
  offerMaster(text: string): void {
    this.masters.offer(text);
  }

  /**
   * Renditions no longer produced (dropped to keep up with live): the masters and the MPD stop naming
   * them, then their media playlists are deleted, so a player still on one gets a 404 and switches.
   */
  async shedRenditions(dropped: readonly string[]): Promise<void> {
    const shed = this.masters.shed(dropped);
    if (shed.length === 0) return;
    await Promise.all(shed.map((name) => this.upload(name).abandon()));
    await Promise.all(shed.map((name) => this.options.journal?.forget(name)));
    await this.masters.publishWhenReady();
    await this.dash.publish();
    const keys = shed.map((name) => renditionKey(this.options.streamId, this.options.sessionId, name, MEDIA_PLAYLIST_FILE));
    await this.options.store.delete(keys).catch((error: unknown) => this.logger.warn({ err: error, keys }, "playlists of shed renditions not deleted"));
  }

  /** What a recorded session left in the store, once endPlaylists() is done; null if not recorded or never live. */
  recording(): RecordingInfo | null {
    if (!this.options.record || !this.masters.live || !this.endedAt) return null;
    const renditions = this.masters.renditions;
    const seconds = Math.max(0, ...renditions.map((name) => this.upload(name).track.storedSeconds));
    return {
      masterPath: sessionMasterPath(this.options.streamId, this.options.sessionId),
      durationSeconds: Math.round(seconds * 1000) / 1000,
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt.toISOString(),
      renditions: [...renditions],
    };
  }

  /**
   * Stores the stream's thumbnail. Best effort and never retried: a poster that fails is replaced by the
   * next one ten seconds later, and nothing else waits on it.
   */
  offerPoster(jpeg: Uint8Array): void {
    putMedia(this.options.store, posterKey(this.options.streamId), jpeg, "poster").catch((error: unknown) =>
      this.logger.warn({ err: error }, "poster upload failed; the next one replaces it"),
    );
  }

  /** Waits until everything offered so far is stored (or given up on through cancel()). */
  async drain(): Promise<void> {
    for (;;) {
      const workers = [...this.uploads.values()].map((u) => u.inFlight);
      const busy = [...workers, this.masters.inFlight, this.dash.inFlight].filter((w): w is Promise<void> => w !== null);
      if (busy.length === 0) break;
      await Promise.all(busy);
    }
  }

  /** Stores every playlist with EXT-X-ENDLIST once everything before it is stored. */
  async endPlaylists(): Promise<void> {
    this.endedAt ??= new Date();
    for (const name of this.masters.renditions) this.upload(name).end();
    await this.drain();
  }

  /** Stops retrying: what is not stored yet stays unstored. */
  cancel(): void {
    this.abort.abort();
  }

  private upload(rendition: string): RenditionUpload {
    return this.uploads.get(rendition)!;
  }

  /** What the MPD lists: the stored windows of the renditions in the masters. */
  private storedWindows(): StoredWindows {
    const uploads = this.masters.renditions.map((name) => this.upload(name));
    return {
      renditions: uploads.map(({ name, track }) => ({ name, segments: track.window })),
      // Over once every segment offered is stored after endPlaylists().
      ended: this.endedAt !== null && uploads.every(({ track }) => track.queue.length === 0),
    };
  }
}
