import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { POSTER_FILE } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import { muxerPlaylistFile, renditionRelativePlaylist } from "./dash-output";
import { parseMediaPlaylist } from "./media-playlist";
import { buildMasterPlaylist, type RenditionFacts, type SegmentFacts } from "./master-builder";
import { sampleCount, trackFacts } from "./mp4-boxes";
import { PartReader, type SegmentPart } from "./part-reader";

/**
 * Notices what ffmpeg has written in the spool directory (dash-output.ts). ffmpeg names a segment in a
 * media playlist only once the segment is complete, and renames playlists into place, so a changed
 * playlist is the signal that new segments are ready; before that, each fragment of the segment still
 * growing is reported as a part (part-reader.ts), always before the playlist that lists its segment.
 * Polling rather than fs.watch: rename events are unreliable across platforms and file systems, and a
 * missed poll costs nothing.
 * Once every rendition has a segment, it writes the master from them (master-builder.ts).
 */
export interface SegmentWatcherOptions {
  dir: string;
  renditions: readonly string[];
  /** the renditions in ffmpeg's output stream order (dash-output.ts outputStreamNames), which names its playlists */
  streams: readonly string[];
  onPlaylist: (rendition: string, text: string) => void;
  /** a fragment of a segment still growing: an LL-HLS part */
  onPart?: (rendition: string, part: SegmentPart) => void;
  onMaster: (text: string) => void;
  /** a new poster JPEG (ffmpeg rewrites <dir>/poster.jpg every 10 s); for the stream's posterKey */
  onPoster?: (jpeg: Buffer) => void;
  logger: Logger;
}

/**
 * How often ffmpeg's playlists are read: the time a finished segment waits to be noticed adds to live
 * latency (half this on average). Reading a few small files 20 times a second per stream is cheap;
 * polling, unlike fs.watch, does not miss ffmpeg's write-then-rename updates.
 */
const POLL_INTERVAL_MS = 50;
const SEGMENT_LINE = /^#EXTINF:([\d.]+),?\s*\n(?:#EXT-X-PROGRAM-DATE-TIME:\S+\n)?(\S+)$/gm;
const MAP_URI = /^#EXT-X-MAP:URI="([^"]+)"/m;

export class SegmentWatcher {
  private readonly lastSeen = new Map<string, string>();
  private readonly partReaders: Map<string, PartReader>;
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> = Promise.resolve();
  private running = false;
  private masterWritten = false;
  private posterModified: number | null = null;
  /** per rendition, measured from the newest playlist, until the master is written */
  private readonly facts = new Map<string, RenditionFacts>();
  private readonly measured = new Map<string, Map<string, SegmentFacts>>();

  constructor(private readonly options: SegmentWatcherOptions) {
    this.partReaders = new Map(options.renditions.map((r) => [r, new PartReader(join(options.dir, r))]));
  }

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
    const { renditions, streams, onPlaylist } = this.options;
    for (const rendition of renditions) {
      // Parts first: a segment's last part comes with its rename, just before the playlist lists it.
      await this.readParts(rendition);
      const raw = await this.changed(muxerPlaylistFile(streams.indexOf(rendition)));
      if (raw === null) continue;
      const text = renditionRelativePlaylist(raw);
      const listed = lastListedSegment(text);
      const reader = this.partReaders.get(rendition)!;
      // ffmpeg may have finished a segment between the read above and this playlist: its last part is in
      // the finished file, read before the playlist goes on (and before the uploader removes the file).
      if (listed >= reader.currentSegment) await this.readParts(rendition);
      reader.skipTo(listed + 1);
      // Measured before the uploader sees the playlist: it removes spool files once they are stored.
      if (!this.masterWritten) await this.measure(rendition, text);
      onPlaylist(rendition, text);
    }
    await this.checkPoster();
    if (!this.masterWritten && renditions.every((r) => (this.facts.get(r)?.segments.length ?? 0) > 0)) {
      this.masterWritten = true;
      this.options.onMaster(buildMasterPlaylist(renditions.map((r) => this.facts.get(r)!)));
    }
  }

  private async readParts(rendition: string): Promise<void> {
    const { onPart, logger } = this.options;
    if (!onPart) return;
    try {
      for (const part of await this.partReaders.get(rendition)!.read()) onPart(rendition, part);
    } catch (error) {
      // Parts are an early copy of what the segment brings anyway: a failed read costs latency only.
      logger.warn({ err: error, rendition }, "cannot read the growing segment");
    }
  }

  private async checkPoster(): Promise<void> {
    const { onPoster, dir } = this.options;
    if (!onPoster) return;
    const path = join(dir, POSTER_FILE);
    // ffmpeg replaces the file by a rename: a new modification time is a new, complete poster.
    const modified = await stat(path).then((s) => s.mtimeMs, () => null);
    if (modified === null || modified === this.posterModified) return;
    this.posterModified = modified;
    const jpeg = await readFile(path).catch((error: unknown) => {
      this.options.logger.warn({ err: error }, "cannot read the poster");
      return null;
    });
    if (jpeg) onPoster(jpeg);
  }

  private async measure(rendition: string, playlist: string): Promise<void> {
    try {
      const known = new Map(this.measured.get(rendition));
      const facts = await renditionFacts(join(this.options.dir, rendition), rendition, playlist, known);
      this.measured.set(rendition, known);
      if (facts.segments.length > 0) this.facts.set(rendition, facts);
    } catch (error) {
      // A file gone from under us (ffmpeg's window moved on): the next playlist brings newer segments.
      this.options.logger.warn({ err: error, rendition }, "segments not measured for the master playlist");
    }
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

/**
 * What the master says about one rendition, read from its init segment and the segments its playlist
 * lists; segments already in `known` (by file name) are not read again.
 */
export async function renditionFacts(renditionDir: string, name: string, playlist: string, known = new Map<string, SegmentFacts>()): Promise<RenditionFacts> {
  const map = MAP_URI.exec(playlist);
  if (!map) throw new Error(`${name}: the playlist has no EXT-X-MAP`);
  for (const [, seconds, uri] of playlist.matchAll(SEGMENT_LINE)) {
    if (known.has(uri!)) continue;
    const bytes = await readFile(join(renditionDir, uri!));
    known.set(uri!, { bytes: bytes.byteLength, seconds: Number(seconds), samples: sampleCount(bytes) });
  }
  return { name, track: trackFacts(await readFile(join(renditionDir, map[1]!))), segments: [...known.values()] };
}

/** ffmpeg's number of the last segment the playlist lists; 0 for none, or a playlist the uploader will refuse. */
function lastListedSegment(text: string): number {
  try {
    return parseMediaPlaylist(text).segments.at(-1)?.sequence ?? 0;
  } catch {
    return 0;
  }
}
