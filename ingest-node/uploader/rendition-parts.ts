import type { PartialPlaylistNotice } from "../../workers/shared/ingest-api";
import { partFileName } from "../../workers/shared/layout";
import type { Logger } from "../logger";
import type { ListedPart } from "../packager/media-playlist";
import type { SegmentPart } from "../packager/part-reader";
import type { ObjectStore } from "../storage/object-store";
import type { DashPublisher } from "./dash-publisher";
import { putMedia } from "./put-media";
import type { RenditionTrack } from "./rendition-track";

/**
 * One rendition's LL-HLS parts: each fragment of the segment ffmpeg is still writing is stored as an
 * object of its own (seg-00007.p0.m4s, ...), and after each, the rendition's playlist with its parts is
 * sent to the edge (workers/shared/ingest-api.ts, INGEST_PARTS_PATH), which serves it from memory: it
 * changes twice a second, beyond R2's one write per second per key. The stored playlist (whole
 * segments, rendition-upload.ts) stays the durable copy.
 *
 * A part is numbered for the segment it will become: the next media sequence number after everything
 * queued. Parts are published only where that is certain and the segment can be dated: once its ffmpeg
 * run has a stored segment (so its init segment and wall clock are known) and the segment before it was
 * taken from the same run. A run's first segment, and a segment whose parts come out of order or fail to
 * store, get no parts (players fetch them whole). Parts are never retried: half a second later they are
 * worth nothing, and the whole segment follows anyway.
 */
export type PartialPlaylistUpdate = Omit<PartialPlaylistNotice, "streamId" | "sessionId" | "rendition">;

export interface RenditionPartsOptions {
  store: ObjectStore;
  rendition: string;
  track: RenditionTrack;
  dash: DashPublisher;
  /** the object key of a file in this rendition's directory */
  key: (file: string) => string;
  logger: Logger;
  /** no part is longer (EXT-X-PART-INF), packager/dash-output.ts partTargets */
  partTargetSeconds: number;
  /** sends the LL playlist to the edge; one at a time, the newest wins */
  publish: (update: PartialPlaylistUpdate) => Promise<void>;
  /** the wall clock of a stored segment (its EXT-X-PROGRAM-DATE-TIME) */
  wallClock: Parameters<RenditionTrack["render"]>[0];
}

/**
 * Parts are listed for the segment still growing and for this many of the newest whole ones: players
 * within about three target durations of the live edge (RFC 8216bis 4.4.4.9) find the parts they hold.
 */
const LISTED_WHOLE_SEGMENTS = 2;
/** Part objects are deleted once their segment is this far behind the newest stored one. */
const KEPT_SEGMENTS = 4;

interface GrowingSegment {
  dir: string;
  /** ffmpeg's number of the segment in its run */
  spoolSegment: number;
  /** the media sequence number it will be stored under */
  sequence: number;
  initFile: string;
  /** the part index expected next */
  next: number;
}

/** The parts stored under one media sequence number. */
interface FiledParts {
  /** the ffmpeg segment (its run's directory and number there) they were cut from */
  dir: string;
  spoolSegment: number;
  /** EXT-X-PROGRAM-DATE-TIME of the segment while it grows, from its first part */
  programDateMs: number | null;
  parts: ListedPart[];
}

export class RenditionParts {
  /** by media sequence number, oldest first */
  private readonly filed = new Map<number, FiledParts>();
  private growing: GrowingSegment | null = null;
  /** part puts, one at a time and in order */
  private lane: Promise<void> = Promise.resolve();
  private queuedPuts = 0;
  private sending: Promise<void> | null = null;
  private sendAgain = false;
  private ended = false;

  constructor(private readonly options: RenditionPartsOptions) {}

  /** A fragment ffmpeg appended to a segment of the run writing into `dir`. */
  offer(dir: string, part: SegmentPart): void {
    if (this.ended) return;
    const segment = this.place(dir, part);
    if (!segment) return;
    this.queuedPuts += 1;
    this.lane = this.lane.then(() => this.store(segment, part)).finally(() => (this.queuedPuts -= 1));
  }

  /**
   * A segment was stored under `sequence`. Parts were numbered for their segment when they came, counting
   * the segments queued before it; if the spool bound dropped some of those since (a storage outage), the
   * numbers moved on, and parts filed under a number that is not their segment's are forgotten rather
   * than listed with the wrong media.
   */
  segmentStored(sequence: number, dir: string, spoolSegment: number): void {
    const misfiled = [...this.filed]
      .filter(([filedAs, source]) => source.dir === dir && filedAs - sequence !== source.spoolSegment - spoolSegment)
      .map(([filedAs]) => filedAs);
    if (misfiled.length > 0) void this.forget(misfiled);
  }

  /** The rendition's playlist was stored (a whole segment more): the LL playlist follows, old parts go. */
  playlistStored(): void {
    if (this.ended) return;
    void this.send();
    const newest = this.options.track.window.at(-1)?.sequence ?? 0;
    void this.forget([...this.filed.keys()].filter((sequence) => sequence <= newest - KEPT_SEGMENTS));
  }

  /** The rendition ended: the final playlist replaces the LL one at the edge, then every part goes. */
  async end(): Promise<void> {
    if (this.ended) return;
    await this.takeNoMore();
    await this.send();
    await this.forget([...this.filed.keys()]);
  }

  /** The rendition is no longer produced (shed): no more parts, and the stored ones go. */
  async discard(): Promise<void> {
    await this.takeNoMore();
    await this.forget([...this.filed.keys()]);
  }

  private async takeNoMore(): Promise<void> {
    this.ended = true;
    this.growing = null;
    await this.lane;
  }

  /** Puts and notices under way, for draining; null when idle. */
  get inFlight(): Promise<void> | null {
    if (this.queuedPuts === 0 && !this.sending) return null;
    return Promise.all([this.lane, this.sending]).then(() => {});
  }

  /** The playlist the edge serves now: the stored window, with parts for its newest segments and the growing one. */
  render(): string {
    const { track, partTargetSeconds, wallClock } = this.options;
    if (track.ended) return track.render(wallClock);
    const newest = track.window.at(-1)?.sequence ?? 0;
    const growing = this.growingParts();
    return track.render(wallClock, {
      partsOf: (sequence) => (sequence > newest - LISTED_WHOLE_SEGMENTS ? this.filed.get(sequence)?.parts : undefined),
      lowLatency: {
        partTargetSeconds,
        growing: growing && { programDateMs: growing.programDateMs, parts: growing.parts },
        nextPartUri: growing ? partFileName(growing.sequence, growing.parts.length) : partFileName(newest + 1, 0),
      },
    });
  }

  /** Which segment the part belongs to, or null if its parts cannot be published (see the class comment). */
  private place(dir: string, part: SegmentPart): GrowingSegment | null {
    const { track } = this.options;
    if (part.index === 0) {
      const last = track.window.at(-1);
      this.growing =
        last && last.run === dir && track.lastTaken(dir) === part.segment - 1
          ? { dir, spoolSegment: part.segment, sequence: track.nextSequence + track.queue.length, initFile: last.initFile, next: 0 }
          : null;
    }
    const growing = this.growing;
    if (!growing || growing.dir !== dir || growing.spoolSegment !== part.segment || growing.next !== part.index) return null;
    growing.next += 1;
    return growing;
  }

  private async store(segment: GrowingSegment, part: SegmentPart): Promise<void> {
    const { dash, rendition, store, key, logger } = this.options;
    const media = dash.readSegment(rendition, segment.initFile, part.bytes);
    const duration = media && dash.durationSeconds(rendition, segment.initFile, media);
    const stop = (reason: string, error?: unknown) => {
      logger.debug({ err: error, rendition, sequence: segment.sequence, part: part.index }, reason);
      if (this.growing === segment) this.growing = null;
    };
    if (!media || !duration) return stop("part unreadable; its segment is listed without parts");
    const uri = partFileName(segment.sequence, part.index);
    try {
      await putMedia(store, key(uri), part.bytes, "media-segment");
    } catch (error) {
      return stop("part not stored; its segment is listed without the rest of its parts", error);
    }
    if (part.index === 0) {
      const programDateMs = dash.wallClockMs(segment.dir, rendition, segment.initFile, media);
      this.filed.set(segment.sequence, { dir: segment.dir, spoolSegment: segment.spoolSegment, programDateMs, parts: [] });
    }
    // Missing only if forgotten meanwhile (misfiled after a spool drop): then so is this part.
    this.filed.get(segment.sequence)?.parts.push({ uri, duration, independent: part.index === 0 });
    void this.send();
  }

  /** The parts of the segment after the newest stored one, if every segment before it is stored. */
  private growingParts(): (FiledParts & { sequence: number }) | null {
    const { track } = this.options;
    if (track.queue.length > 0) return null;
    const filed = this.filed.get(track.nextSequence);
    return filed ? { ...filed, sequence: track.nextSequence } : null;
  }

  private update(): PartialPlaylistUpdate {
    const { track } = this.options;
    const lastSegment = track.window.at(-1)?.sequence ?? -1;
    const growing = track.ended ? null : this.growingParts();
    const newestWhole = lastSegment >= 0 && !track.ended ? this.filed.get(lastSegment)?.parts : undefined;
    const [lastPartSegment, lastPart] = growing
      ? [growing.sequence, growing.parts.length - 1]
      : newestWhole
        ? [lastSegment, newestWhole.length - 1]
        : [-1, -1];
    return { playlist: this.render(), lastSegment, lastPartSegment, lastPart, ended: track.ended };
  }

  /** Sends the newest playlist; while one is on its way, the next waits and only the newest is sent. */
  private send(): Promise<void> {
    if (this.sending) {
      this.sendAgain = true;
      return this.sending;
    }
    this.sending = (async () => {
      do {
        this.sendAgain = false;
        await this.options.publish(this.update()).catch((error: unknown) => this.options.logger.debug({ err: error, rendition: this.options.rendition }, "LL playlist not sent"));
      } while (this.sendAgain);
    })().finally(() => (this.sending = null));
    return this.sending;
  }

  /** Stops listing the parts filed under these sequence numbers and deletes them. Best effort. */
  private async forget(sequences: number[]): Promise<void> {
    if (sequences.length === 0) return;
    const keys = sequences.flatMap((sequence) => (this.filed.get(sequence)?.parts ?? []).map((part) => this.options.key(part.uri)));
    for (const sequence of sequences) this.filed.delete(sequence);
    await this.options.store.delete(keys).catch((error: unknown) => this.options.logger.warn({ err: error, keys: keys.length }, "old parts not deleted"));
  }
}
