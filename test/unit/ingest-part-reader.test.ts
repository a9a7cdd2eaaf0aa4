import { appendFile, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PartReader } from "../../ingest-node/packager/part-reader";

/**
 * The part reader on files written the way ffmpeg's DASH muxer writes them (dash-output.ts): a growing
 * seg-N.m4s.tmp, whole boxes appended, renamed to seg-N.m4s when complete. Real ffmpeg output is checked
 * in ingest-live.test.ts (a segment's parts joined are the segment).
 */
function box(type: string, payloadBytes: number, fill = 0): Buffer {
  const out = Buffer.alloc(8 + payloadBytes, fill);
  out.writeUInt32BE(8 + payloadBytes, 0);
  out.write(type, 4, "latin1");
  return out;
}

const fragment = (fill: number) => Buffer.concat([box("moof", 24, fill), box("mdat", 100, fill)]);

describe("reading parts from a growing segment", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "onair-parts-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("cuts a part after each whole mdat, leaves a half-written box for later, and reads the last part from the renamed file", async () => {
    const reader = new PartReader(dir);
    const growing = join(dir, "seg-00001.m4s.tmp");
    expect(await reader.read()).toEqual([]);

    const styp = box("styp", 16, 7);
    await writeFile(growing, Buffer.concat([styp, fragment(1)]));
    const first = await reader.read();
    expect(first.map((p) => [p.segment, p.index])).toEqual([[1, 0]]);
    // The segment's first part carries its styp.
    expect(first[0]!.bytes).toEqual(Buffer.concat([styp, fragment(1)]));

    // Half of the next fragment: nothing yet; the rest: the whole fragment, once.
    const second = fragment(2);
    await appendFile(growing, second.subarray(0, 50));
    expect(await reader.read()).toEqual([]);
    await appendFile(growing, second.subarray(50));
    expect((await reader.read()).map((p) => p.bytes)).toEqual([second]);
    expect(await reader.read()).toEqual([]);

    // The last fragment comes with the rename; the next segment has begun meanwhile.
    await appendFile(growing, fragment(3));
    await rename(growing, join(dir, "seg-00001.m4s"));
    await writeFile(join(dir, "seg-00002.m4s.tmp"), Buffer.concat([box("styp", 16), fragment(4)]));
    const across = await reader.read();
    expect(across.map((p) => [p.segment, p.index])).toEqual([[1, 2], [2, 0]]);
    expect(across[0]!.bytes).toEqual(fragment(3));
    expect(reader.currentSegment).toBe(2);
  });

  it("skips to the segment growing now when the ones before were listed (and maybe removed) meanwhile", async () => {
    const reader = new PartReader(dir);
    await writeFile(join(dir, "seg-00005.m4s.tmp"), Buffer.concat([box("styp", 16), fragment(5)]));
    // Segment 1 is gone (stored and removed from the spool): the reader waits on it until told otherwise.
    expect(await reader.read()).toEqual([]);
    reader.skipTo(5);
    expect((await reader.read()).map((p) => [p.segment, p.index])).toEqual([[5, 0]]);
    // Never backwards.
    reader.skipTo(3);
    expect(reader.currentSegment).toBe(5);
  });
});
