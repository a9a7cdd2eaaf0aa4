/**
 * bench:latency's segment timing: when a playlist (in the spool, in R2, at the edge) first lists each
 * segment, and the capture time of a segment's last frame read from its coded clock. Also the bench's
 * small numeric helpers.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { READER_FRAME_BYTES, cellLumas, decodeClock, stripReaderFilter } from "./latency-clock";

export interface Listed {
  /** when it was first seen listed; NaN if it was listed already at the first look (time unknown) */
  at: number;
  duration: string;
}

const SEGMENT_ENTRY = /#EXTINF:([\d.]+),?[^\n]*\n(?:#[^\n]*\n)*(seg-(\d+)\.m4s)/g;

export function parsePlaylist(text: string): { map: string | null; segments: Array<{ sequence: number; uri: string; duration: string }>; discontinuity: boolean } {
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1] ?? null;
  const segments = [...text.matchAll(SEGMENT_ENTRY)].map((m) => ({ sequence: Number(m[3]), uri: m[2]!, duration: Number(m[1]).toFixed(3) }));
  return { map, segments, discontinuity: text.includes("#EXT-X-DISCONTINUITY\n") };
}

/**
 * Polls playlists (the set may change: `locate` is asked each round) and notes when each segment is first
 * listed: the middle of the first read that lists it (the read times are kept, to say how exact that is).
 */
export class PlaylistWatch {
  readonly listed = new Map<string, Map<number, Listed>>();
  readonly maps = new Map<string, string>();
  /** how long each read took: a listing is noticed up to this late, plus half the poll interval */
  readonly readMs: number[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly locate: () => Promise<Array<{ rendition: string; read: () => Promise<string | null> }>>,
    private readonly everyMs: number,
    private readonly onListed?: (rendition: string, sequence: number, uri: string) => void,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const targets = await this.locate().catch(() => []);
      await Promise.all(
        targets.map(async ({ rendition, read }) => {
          const asked = Date.now();
          const text = await read().catch(() => null);
          if (!text) return;
          const answered = Date.now();
          this.readMs.push(answered - asked);
          // The read saw the file as it was at some moment in between.
          const at = (asked + answered) / 2;
          const parsed = parsePlaylist(text);
          if (parsed.map) this.maps.set(rendition, parsed.map);
          let seen = this.listed.get(rendition);
          const firstLook = !seen;
          if (!seen) this.listed.set(rendition, (seen = new Map()));
          for (const s of parsed.segments) {
            if (seen.has(s.sequence)) continue;
            seen.set(s.sequence, { at: firstLook ? NaN : at, duration: s.duration });
            if (!firstLook) this.onListed?.(rendition, s.sequence, s.uri);
          }
        }),
      );
      await sleep(started + this.everyMs - Date.now());
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** The capture time of the last frame of an fMP4 segment (init + segment bytes), read from its coded clock. */
export async function lastFrameCapture(init: Uint8Array, segment: Uint8Array, fps: number): Promise<number | null> {
  const child = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", "pipe:0", "-vf", stripReaderFilter(), "-f", "rawvideo", "pipe:1"], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  const chunks: Buffer[] = [];
  child.stdout!.on("data", (c: Buffer) => chunks.push(c));
  child.stdin!.on("error", () => undefined);
  child.stdin!.end(Buffer.concat([init, segment]));
  await once(child, "close");
  const frames = Buffer.concat(chunks);
  const count = Math.floor(frames.length / READER_FRAME_BYTES);
  const now = Date.now();
  for (let i = count - 1; i >= 0 && i >= count - 3; i--) {
    const capture = decodeClock(cellLumas(frames.subarray(i * READER_FRAME_BYTES, (i + 1) * READER_FRAME_BYTES)), now);
    // A later frame that did not read: count it as one frame interval after this one.
    if (capture !== null) return capture + ((count - 1 - i) * 1000) / fps;
  }
  return null;
}

/** Runs jobs one at a time, in order (segment decodes must not pile up on two cores). */
export class Serial {
  private tail: Promise<void> = Promise.resolve();
  add(job: () => Promise<void>): void {
    this.tail = this.tail.then(job).catch((error: unknown) => console.error("bench:latency:", error));
  }
  drain(): Promise<void> {
    return this.tail;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
export const median = (values: number[]) => quantile(values, 0.5);
