import { masterPlaylistKey, sessionMasterKey } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import { rewriteMasterPlaylist } from "../packager/master-playlist";
import type { ObjectStore } from "../storage/object-store";
import { putMedia } from "./put-media";
import { retryUntilAborted } from "./retry";

/**
 * The session's two master playlists: its own (the recording's URL) and the stream's (what starts
 * players), both rewritten from the newest master ffmpeg wrote (packager/master-playlist.ts). They are
 * published only once every rendition they list has its media playlist stored, so a player never follows
 * a master to a missing playlist, and again whenever what they would say changes: a newer master from a
 * later ffmpeg, or renditions shed to keep up with live. One publish at a time; the newest state wins.
 */
export interface MasterPublisherOptions {
  store: ObjectStore;
  streamId: string;
  sessionId: string;
  renditions: readonly string[];
  logger: Logger;
  /** cancels retries: what is not stored yet stays unstored */
  signal: AbortSignal;
  /** whether a rendition's media playlist is stored yet */
  playlistStored: (rendition: string) => boolean;
  /** the stream's master is stored for the first time: viewers can start */
  onLive: () => void;
}

export class MasterPublisher {
  /** the renditions the masters list: all of them until some are shed */
  private listed: readonly string[];
  /** the newest master from the spool (URIs relative to it), and the stream's master last stored from it */
  private newest: string | null = null;
  private stored: string | null = null;
  private publishing: Promise<void> | null = null;
  private isLive = false;

  constructor(private readonly options: MasterPublisherOptions) {
    this.listed = [...options.renditions];
  }

  /** The renditions the masters list (or will, once published). */
  get renditions(): readonly string[] {
    return this.listed;
  }

  /** Whether the stream's master has been stored: the stream is live. */
  get live(): boolean {
    return this.isLive;
  }

  /** The publish under way, if any. */
  get inFlight(): Promise<void> | null {
    return this.publishing;
  }

  /** The master of the newest ffmpeg. */
  offer(text: string): void {
    this.newest = text;
    void this.publishWhenReady();
  }

  /** Leaves these renditions out of the masters from the next publish on; returns those that were listed. */
  shed(dropped: readonly string[]): string[] {
    const shed = dropped.filter((name) => this.listed.includes(name));
    this.listed = this.listed.filter((name) => !shed.includes(name));
    return shed;
  }

  /**
   * Starts a publish unless one is under way or a listed rendition's playlist is not stored yet. Resolves
   * once the publish under way (if any) is over.
   */
  publishWhenReady(): Promise<void> {
    const ready = this.newest !== null && this.listed.every((name) => this.options.playlistStored(name));
    if (ready) {
      this.publishing ??= this.publishNewest().finally(() => {
        this.publishing = null;
      });
    }
    return this.publishing ?? Promise.resolve();
  }

  /** Stores the newest master until what is stored is current (a newer one may arrive meanwhile). */
  private async publishNewest(): Promise<void> {
    const { streamId, sessionId, signal, logger } = this.options;
    for (;;) {
      const text = this.newest;
      if (text === null || signal.aborted) return;
      let session: string;
      let stream: string;
      try {
        session = rewriteMasterPlaylist(text, null, this.listed);
        stream = rewriteMasterPlaylist(text, sessionId, this.listed);
      } catch (error) {
        // Wait for ffmpeg's next version of the master rather than give up on the session.
        if (this.newest === text) this.newest = null;
        return logger.warn({ err: error }, "master playlist not published yet");
      }
      if (stream === this.stored) return;
      try {
        // The session's own master first: the stream's master is what starts players.
        await this.put(sessionMasterKey(streamId, sessionId), session);
        await this.put(masterPlaylistKey(streamId), stream);
      } catch (error) {
        if (!signal.aborted) logger.warn({ err: error }, "master playlist not published");
        return;
      }
      this.stored = stream;
      if (!this.isLive) {
        this.isLive = true;
        logger.info({ renditions: this.listed }, "master playlist stored: the stream is live");
        this.options.onLive();
      }
    }
  }

  /** Retried until stored or cancelled: without its masters the stream never goes live or changes ladder. */
  private async put(key: string, text: string): Promise<void> {
    const { store, signal, logger } = this.options;
    await retryUntilAborted(() => putMedia(store, key, Buffer.from(text), "master-playlist"), {
      signal,
      onFailure: (error, attempt, nextDelayMs) => logger.warn({ err: error, key, attempt, nextDelayMs }, "upload failed; retrying"),
    });
  }
}
