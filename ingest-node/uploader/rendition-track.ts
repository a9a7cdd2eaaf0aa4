import { segmentFileName } from "../../workers/shared/layout";
import type { SegmentMedia } from "../packager/dash-manifest";
import { renderMediaPlaylist, type ListedPart, type LowLatency, type MediaPlaylist } from "../packager/media-playlist";

/**
 * One rendition's timeline across every ffmpeg of a session, as data (no I/O): the segments ffmpeg has
 * finished but we have not stored yet (the spool queue), and the stored live window we list. Sequence
 * numbers and stored names are given at store time, so they stay consecutive whatever happens before:
 * a new ffmpeg (its own numbering starts over in its own directory) or segments dropped because the
 * spool was full both become an EXT-X-DISCONTINUITY before the next listed segment. A recorded session
 * also keeps every stored segment, for the whole-session playlist rendered at its end. What the DASH
 * manifest needs besides (which ffmpeg run wrote a segment, its decode time and duration) rides along.
 */
export interface QueuedSegment {
  /** the directory of the ffmpeg that wrote it */
  dir: string;
  initUri: string;
  /** its file name in that directory */
  spoolUri: string;
  duration: number;
  discontinuity: boolean;
}

export interface StoredSegment {
  sequence: number;
  uri: string;
  duration: number;
  discontinuity: boolean;
  /** the stored init segment it decodes with */
  initFile: string;
  /** the directory of the ffmpeg that wrote it: a DASH Period per ffmpeg run */
  run: string;
  /** its timing and size from its boxes (null if unreadable): the DASH SegmentTimeline */
  media: SegmentMedia | null;
}

/** The parts a live playlist lists: of some stored segments, and of the one still growing. */
export interface PartListing {
  partsOf: (sequence: number) => readonly ListedPart[] | undefined;
  lowLatency: LowLatency;
}

export class RenditionTrack {
  /** finished by ffmpeg, not stored yet, oldest first */
  readonly queue: QueuedSegment[] = [];
  /** stored and listed, oldest first */
  readonly window: StoredSegment[] = [];
  /** every stored segment, oldest first, when the session is recorded */
  readonly history: StoredSegment[] | null;
  nextSequence = 1;
  ended = false;
  private discontinuitySequence = 0;
  private targetDuration = 0;
  private lastDir: string | null = null;
  /** per ffmpeg directory: the highest of its sequence numbers already taken */
  private readonly taken = new Map<string, number>();

  constructor(
    private readonly windowSize: number,
    private readonly maxQueued: number,
    record = false,
  ) {
    this.history = record ? [] : null;
  }

  /** Queues what this ffmpeg playlist names that was not seen before; returns what the bound pushed out. */
  take(dir: string, playlist: MediaPlaylist): QueuedSegment[] {
    this.targetDuration = Math.max(this.targetDuration, playlist.targetDuration);
    const last = this.taken.get(dir) ?? 0;
    for (const segment of playlist.segments) {
      if (segment.sequence <= last) continue;
      const newProcess = this.lastDir !== null && this.lastDir !== dir;
      this.queue.push({ dir, initUri: playlist.initUri, spoolUri: segment.uri, duration: segment.duration, discontinuity: newProcess });
      this.lastDir = dir;
      this.taken.set(dir, segment.sequence);
    }
    const dropped = this.queue.splice(0, Math.max(0, this.queue.length - this.maxQueued));
    if (dropped.length > 0) this.queue[0]!.discontinuity = true;
    return dropped;
  }

  /** The highest of this ffmpeg directory's segment numbers queued so far (0: none). */
  lastTaken(dir: string): number {
    return this.taken.get(dir) ?? 0;
  }

  /** Names the queue's head for the store; the name is final once stored(). */
  nameFor(): string {
    return segmentFileName(this.nextSequence);
  }

  /**
   * The queue's head is stored under nameFor(), to be played with initFile: it joins the window. Returns
   * the segments that slid out of the window. If the head was dropped meanwhile (spool bound), returns
   * null: the object is orphaned.
   */
  stored(segment: QueuedSegment, initFile: string, media: SegmentMedia | null = null): StoredSegment[] | null {
    if (this.queue[0] !== segment) return null;
    this.queue.shift();
    const { duration, discontinuity, dir: run } = segment;
    const entry = { sequence: this.nextSequence, uri: this.nameFor(), duration, discontinuity, initFile, run, media };
    this.window.push(entry);
    this.history?.push(entry);
    this.nextSequence += 1;
    const out = this.window.splice(0, Math.max(0, this.window.length - this.windowSize));
    this.discontinuitySequence += out.filter((s) => s.discontinuity).length;
    return out;
  }

  /** Seconds of media stored this session (the whole history when recorded, else the window). */
  get storedSeconds(): number {
    return (this.history ?? this.window).reduce((sum, s) => sum + s.duration, 0);
  }

  /**
   * The live playlist; once ended, a recorded session's playlist lists all of it. `wallClock` dates each
   * segment (EXT-X-PROGRAM-DATE-TIME) where it can. With `parts`, the LL-HLS playlist (rendition-parts.ts).
   */
  render(wallClock: (segment: StoredSegment) => number | null = () => null, parts?: PartListing): string {
    const dated = (segments: readonly StoredSegment[]) =>
      segments.map((s) => ({ ...s, programDateMs: wallClock(s), parts: parts?.partsOf(s.sequence) }));
    if (this.ended && this.history && this.history.length > 0) {
      return renderMediaPlaylist({
        mediaSequence: this.history[0]!.sequence,
        discontinuitySequence: 0,
        targetDuration: this.targetDuration,
        segments: dated(this.history),
        ended: true,
        vod: true,
      });
    }
    return renderMediaPlaylist({
      mediaSequence: this.window[0]?.sequence ?? this.nextSequence,
      discontinuitySequence: this.discontinuitySequence,
      targetDuration: this.targetDuration,
      segments: dated(this.window),
      ended: this.ended,
      lowLatency: parts?.lowLatency,
    });
  }
}
