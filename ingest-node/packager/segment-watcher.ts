import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MASTER_PLAYLIST_FILE, MEDIA_PLAYLIST_FILE } from "../../workers/shared/layout";
import type { Logger } from "../logger";

/**
 * Notices what ffmpeg has finished in the spool directory. ffmpeg names a segment in a media playlist
 * only once the segment is complete, and renames playlists into place, so a changed playlist is the
 * signal that new segments are ready. Polling (every 200 ms against 2 s segments) rather than fs.watch:
 * rename events are unreliable across platforms and file systems, and a missed poll costs nothing.
 */
export interface SegmentWatcherOptions {
  dir: string;
  renditions: readonly string[];
  onPlaylist: (rendition: string, text: string) => void;
  onMaster: (text: string) => void;
  logger: Logger;
}

const POLL_INTERVAL_MS = 200;

export class SegmentWatcher {
  private readonly lastSeen = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> = Promise.resolve();
  private running = false;

  constructor(private readonly options: SegmentWatcherOptions) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  /** Stops polling after one last look, so the playlists ffmpeg wrote as it exited are reported. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.scanning;
    await this.scan();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan().finally(() => this.schedule());
    }, POLL_INTERVAL_MS);
  }

  private async scan(): Promise<void> {
    const { renditions, onPlaylist, onMaster } = this.options;
    for (const rendition of renditions) {
      const text = await this.changed(join(rendition, MEDIA_PLAYLIST_FILE));
      if (text !== null) onPlaylist(rendition, text);
    }
    const master = await this.changed(MASTER_PLAYLIST_FILE);
    if (master !== null) onMaster(master);
  }

  /** The file's text if it exists and differs from what was last reported, else null. */
  private async changed(relativePath: string): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(join(this.options.dir, relativePath), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        this.options.logger.warn({ err: error, file: relativePath }, "cannot read ffmpeg output");
      }
      return null;
    }
    if (this.lastSeen.get(relativePath) === text) return null;
    this.lastSeen.set(relativePath, text);
    return text;
  }
}
