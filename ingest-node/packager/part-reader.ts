import { open } from "node:fs/promises";
import { join } from "node:path";
import { segmentFileName } from "../../workers/shared/layout";
import { growingFileName } from "./dash-output";

/**
 * Reads the fragments of one rendition's segment as ffmpeg's DASH muxer appends them (dash-output.ts):
 * `seg-N.m4s.tmp` grows by whole boxes, `styp` first, then a `moof`+`mdat` pair per fragment, and is
 * renamed to `seg-N.m4s` when the segment is complete (its last fragment arrives with the rename). Each
 * fragment, cut after its `mdat`, is an LL-HLS part; the parts of a segment joined are the segment, byte
 * for byte. Only what has grown since the last read is read.
 */
export interface SegmentPart {
  /** the muxer's number of the segment it belongs to (seg-00007.m4s: 7) */
  segment: number;
  /** from 0 within the segment; part 0 starts with the segment's keyframe (and carries its styp) */
  index: number;
  bytes: Buffer;
}

export class PartReader {
  private segment = 1;
  private offset = 0;
  private index = 0;

  constructor(private readonly renditionDir: string) {}

  /** The segment being read now (the next to grow once the last is complete). */
  get currentSegment(): number {
    return this.segment;
  }

  /** The parts appended since the last read, oldest first, across segments completed meanwhile. */
  async read(): Promise<SegmentPart[]> {
    const parts: SegmentPart[] = [];
    for (;;) {
      const file = segmentFileName(this.segment);
      // The growing file first: if it is gone, the finished one (renamed meanwhile) has all of it.
      const growing = await readFrom(join(this.renditionDir, growingFileName(file)), this.offset);
      if (growing !== null) {
        parts.push(...this.cut(growing));
        return parts;
      }
      const finished = await readFrom(join(this.renditionDir, file), this.offset);
      if (finished === null) return parts;
      parts.push(...this.cut(finished));
      this.moveTo(this.segment + 1);
    }
  }

  /**
   * Skips to `segment` (the playlist lists everything before it): a reader that fell behind, e.g. one
   * started after the run had finished segments, starts from the one growing now.
   */
  skipTo(segment: number): void {
    if (segment > this.segment) this.moveTo(segment);
  }

  private moveTo(segment: number): void {
    this.segment = segment;
    this.offset = 0;
    this.index = 0;
  }

  /** Whole fragments of the bytes read (from this.offset); an incomplete tail is read again next time. */
  private cut(data: Buffer): SegmentPart[] {
    const parts: SegmentPart[] = [];
    let partStart = 0;
    for (let at = 0; at + 8 <= data.length; ) {
      let size = data.readUInt32BE(at);
      if (size === 1) {
        if (at + 16 > data.length) break;
        size = Number(data.readBigUInt64BE(at + 8));
      }
      // 0 (to the end of the file) is never written by the muxer for a box it may still append to; < 8 is corrupt.
      if (size < 8 || at + size > data.length) break;
      const type = data.toString("latin1", at + 4, at + 8);
      at += size;
      if (type !== "mdat") continue;
      parts.push({ segment: this.segment, index: this.index, bytes: data.subarray(partStart, at) });
      this.index += 1;
      partStart = at;
    }
    this.offset += partStart;
    return parts;
  }
}

/** The file's bytes from `offset` on; null if it does not exist. */
async function readFrom(path: string, offset: number): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.max(0, size - offset);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
