import { describe, expect, it } from "vitest";
import { RENDITION_PATTERN } from "../../workers/shared/layout";
import { chooseLadder, formatRational, ladderOverridesSchema, renditionNames, type SourceInfo } from "../../ingest-node/ladder/ladder";

const source = (width: number, height: number, fps: [number, number] | null = [30, 1], hasAudio = true): SourceInfo => ({
  width,
  height,
  fps: fps && { num: fps[0], den: fps[1] },
  hasAudio,
});
const summary = (s: SourceInfo) => chooseLadder(s).video.map((v) => `${v.name} ${v.width}x${v.height}@${formatRational(v.fps)}`);

describe("ladder selection", () => {
  it("never upscales: a 720p source gets 720p, 480p, 360p and 144p", () => {
    expect(summary(source(1280, 720))).toEqual(["720p 1280x720@30", "480p 854x480@30", "360p 640x360@30", "144p 256x144@15"]);
  });

  it("uses every rung for 1080p, and keeps 60 fps only at 720p and above", () => {
    expect(summary(source(1920, 1080, [60, 1]))).toEqual([
      "1080p 1920x1080@60",
      "720p 1280x720@60",
      "480p 854x480@30",
      "360p 640x360@30",
      "144p 256x144@15",
    ]);
  });

  it("halves NTSC rates exactly, so frame times stay on the source's grid", () => {
    const ladder = chooseLadder(source(1280, 720, [60000, 1001]));
    expect(ladder.video.map((v) => formatRational(v.fps))).toEqual(["60000/1001", "30000/1001", "30000/1001", "15000/1001"]);
    expect(ladder.video.map((v) => v.reducedFps)).toEqual([false, true, true, true]);
  });

  it("gives a portrait source portrait rungs, named by their short side", () => {
    expect(summary(source(1080, 1920))).toEqual(["1080p 1080x1920@30", "720p 720x1280@30", "480p 480x854@30", "360p 360x640@30", "144p 144x256@15"]);
  });

  it("keeps dimensions even and within the source for odd sizes", () => {
    const ladder = chooseLadder(source(1279, 719));
    for (const v of ladder.video) {
      expect(v.width % 2).toBe(0);
      expect(v.height % 2).toBe(0);
      expect(v.width).toBeLessThanOrEqual(1279);
    }
    expect(summary(source(1279, 719))).toEqual(["480p 854x480@30", "360p 640x360@30", "144p 256x144@15"]);
    expect(summary(source(1281, 721))[0]).toBe("720p 1280x720@30");
  });

  it("keeps a source narrower than the aspect ratio implies (4:3) at its own shape", () => {
    expect(summary(source(960, 720))).toEqual(["720p 960x720@30", "480p 640x480@30", "360p 480x360@30", "144p 192x144@15"]);
  });

  it("streams a source smaller than every rung at its own (even) size", () => {
    const ladder = chooseLadder(source(175, 99));
    expect(ladder.video.map((v) => [v.name, v.width, v.height])).toEqual([["98p", 174, 98]]);
    expect(ladder.video[0]!.name).toMatch(RENDITION_PATTERN);
  });

  it("assumes 30 fps when the source does not say", () => {
    expect(chooseLadder(source(640, 360, null)).video.map((v) => formatRational(v.fps))).toEqual(["30", "15"]);
  });

  it("adds the audio rendition only when the source has audio, first", () => {
    expect(renditionNames(chooseLadder(source(1280, 720)))).toEqual(["audio", "720p", "480p", "360p", "144p"]);
    expect(renditionNames(chooseLadder(source(1280, 720, [30, 1], false)))).toEqual(["720p", "480p", "360p", "144p"]);
  });

  it("takes bitrate overrides per rung and for audio, and caps maxrate near the target", () => {
    const ladder = chooseLadder(source(1280, 720), { "720p": 2000, audio: 96 });
    expect(ladder.video[0]).toMatchObject({ videoKbps: 2000, maxrateKbps: 2140, bufsizeKbps: 3000 });
    expect(ladder.video[1]!.videoKbps).toBe(1400);
    expect(ladder.audio).toEqual({ name: "audio", kbps: 96 });
  });

  it("validates overrides: known rung names, sane kbps", () => {
    expect(ladderOverridesSchema.safeParse({ "720p": 2500 }).success).toBe(true);
    expect(ladderOverridesSchema.safeParse({ "4k": 20000 }).success).toBe(false);
    expect(ladderOverridesSchema.safeParse({ "720p": -1 }).success).toBe(false);
    expect(ladderOverridesSchema.safeParse({ "720p": "2500" }).success).toBe(false);
  });
});
