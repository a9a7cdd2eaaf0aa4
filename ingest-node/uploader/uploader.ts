import { EventEmitter } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { cacheControlFor } from "../../workers/shared/cache-policy";
import { CONTENT_TYPES, INIT_FILE, MEDIA_PLAYLIST_FILE, masterPlaylistKey, renditionKey, type MediaKind } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import { rewriteMasterPlaylist } from "../packager/master-playlist";
import { parseMediaPlaylist, withLayoutInitUri, type MediaPlaylist } from "../packager/media-playlist";
import type { ObjectStore } from "../storage/object-store";
import { retryUntilAborted } from "./retry";

/**
 * Moves one session's ffmpeg output into the object store in an order that never shows a viewer a
 * dangling reference: a rendition's init segment and every segment a playlist names are stored before
 * that playlist, and the stream's master only once every rendition's playlist is stored. Each rendition
 * has one worker, so puts of one key never overlap; if ffmpeg rewrites a playlist while an older one
 * is still uploading, only the newest is stored.
 */
export interface SessionUploaderOptions {
  store: ObjectStore;
  streamId: string;
  sessionId: string;
  /** ffmpeg's output directory for this session */
  spoolDir: string;
  renditions: readonly string[];
  logger: Logger;
}

/** Segments kept in the store behind the live window, for players still holding an older playlist. */
const RETAINED_BEHIND_WINDOW = 4;

export interface SessionUploaderEvents {
  /** the master playlist is stored: viewers can start */
  live: [];
}

interface RenditionUpload {
  name: string;
  /** newest playlist text not yet handled */
  pending: string | null;
  worker: Promise<void> | null;
  initStored: boolean;
  /** stored segments still in the store, by sequence number */
  stored: Map<number, string>;
  /** stored segments whose spool file is still on disk */
  spooled: Map<number, string>;
  lastStoredPlaylist: MediaPlaylist | null;
  lastStoredText: string | null;
}

export class SessionUploader extends EventEmitter<SessionUploaderEvents> {
  private readonly renditions: Map<string, RenditionUpload>;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private masterText: string | null = null;
  private masterState: "waiting" | "publishing" | "published" = "waiting";
  private masterPublish: Promise<void> = Promise.resolve();

  constructor(private readonly options: SessionUploaderOptions) {
    super();
    this.logger = options.logger.child({ component: "uploader" });
    this.renditions = new Map(
      options.renditions.map((name) => [
        name,
        { name, pending: null, worker: null, initStored: false, stored: new Map(), spooled: new Map(), lastStoredPlaylist: null, lastStoredText: null },
      ]),
    );
  }

  offerPlaylist(rendition: string, text: string): void {
    const upload = this.renditions.get(rendition);
    if (!upload) return;
    upload.pending = text;
    upload.worker ??= this.work(upload).finally(() => (upload.worker = null));
  }

  offerMaster(text: string): void {
    this.masterText = text;
    this.publishMasterWhenReady();
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

  /**
   * After ffmpeg died without writing final playlists (killed, crashed): ends every stored playlist that
   * is not ended, so players stop polling it. A clean ffmpeg exit leaves nothing to do here.
   */
  async endPlaylists(): Promise<void> {
    await this.drain();
    for (const upload of this.renditions.values()) {
      if (!upload.lastStoredText || upload.lastStoredPlaylist?.ended) continue;
      const text = `${upload.lastStoredText.trimEnd()}\n#EXT-X-ENDLIST\n`;
      await this.storePlaylist(upload, parseMediaPlaylist(text), text);
    }
  }

  /** Stops retrying: what is not stored yet stays unstored. */
  cancel(): void {
    this.abort.abort();
  }

  private async work(upload: RenditionUpload): Promise<void> {
    while (upload.pending !== null && !this.abort.signal.aborted) {
      const text = upload.pending;
      upload.pending = null;
      try {
        await this.publishRendition(upload, text);
      } catch (error) {
        if (!this.abort.signal.aborted) this.logger.error({ err: error, rendition: upload.name }, "a playlist could not be published");
      }
    }
  }

  private async publishRendition(upload: RenditionUpload, text: string): Promise<void> {
    const playlist = parseMediaPlaylist(text);
    if (!upload.initStored) {
      await this.putFile(upload.name, playlist.initUri, INIT_FILE, "init-segment");
      upload.initStored = true;
    }
    for (const { uri, sequence } of playlist.segments) {
      if (upload.stored.has(sequence)) continue;
      await this.putFile(upload.name, uri, uri, "media-segment");
      upload.stored.set(sequence, uri);
      upload.spooled.set(sequence, uri);
    }
    await this.storePlaylist(upload, playlist, text);
    this.publishMasterWhenReady();
    await this.retire(upload, playlist);
  }

  private async storePlaylist(upload: RenditionUpload, playlist: MediaPlaylist, text: string): Promise<void> {
    const key = renditionKey(this.options.streamId, this.options.sessionId, upload.name, MEDIA_PLAYLIST_FILE);
    await this.put(key, Buffer.from(withLayoutInitUri(text)), "media-playlist", playlist.ended);
    upload.lastStoredPlaylist = playlist;
    upload.lastStoredText = text;
  }

  private publishMasterWhenReady(): void {
    if (this.masterState !== "waiting" || this.masterText === null) return;
    const ready = [...this.renditions.values()].every((r) => (r.lastStoredPlaylist?.segments.length ?? 0) > 0);
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

  /** Frees spool space at once and store space beyond the retention margin. */
  private async retire(upload: RenditionUpload, playlist: MediaPlaylist): Promise<void> {
    const first = playlist.segments[0]?.sequence;
    if (first === undefined) return;
    for (const [sequence, uri] of upload.spooled) {
      if (sequence >= first) continue;
      upload.spooled.delete(sequence);
      await rm(join(this.options.spoolDir, upload.name, uri), { force: true });
    }
    const keepFrom = first - RETAINED_BEHIND_WINDOW;
    const expired = [...upload.stored].filter(([sequence]) => sequence < keepFrom);
    if (expired.length === 0) return;
    for (const [sequence] of expired) upload.stored.delete(sequence);
    const keys = expired.map(([, uri]) => renditionKey(this.options.streamId, this.options.sessionId, upload.name, uri));
    // Best effort: a segment left behind costs storage, not correctness.
    await this.options.store.delete(keys).catch((error: unknown) => this.logger.warn({ err: error, keys }, "old segments not deleted"));
  }

  private async putFile(rendition: string, spoolName: string, storedName: string, kind: MediaKind): Promise<void> {
    const body = await readFile(join(this.options.spoolDir, rendition, spoolName));
    await this.put(renditionKey(this.options.streamId, this.options.sessionId, rendition, storedName), body, kind);
  }

  private async put(key: string, body: Uint8Array, kind: MediaKind, ended = false): Promise<void> {
    const options = { contentType: CONTENT_TYPES[kind], cacheControl: cacheControlFor({ kind, ended }) };
    await retryUntilAborted(() => this.options.store.put(key, body, options), {
      signal: this.abort.signal,
      onFailure: (error, attempt, nextDelayMs) => this.logger.warn({ err: error, key, attempt, nextDelayMs }, "upload failed; retrying"),
    });
  }
}
