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

describe("the source as the top rung", () => {
  const playable: SourceInfo = {
    width: 1920,
    height: 1080,
    fps: { num: 30, den: 1 },
    hasAudio: true,
    video: { codec: "h264", profile: "High", pixFmt: "yuv420p" },
    keyframes: { intervalsSeconds: [2, 2], intervalsFrames: [60, 60], tailSeconds: 0.4, windowSeconds: 4.5 },
  };
  const top = (changes: Partial<SourceInfo>) => chooseLadder({ ...playable, ...changes }).top;

  it("copies H.264 High with 2 s keyframes, in place of the top rung at the source's own size", () => {
    expect(top({})).toEqual({ passthrough: true, reason: "passthrough: H.264 High, keyframes every 2.00 s" });
    const ladder = chooseLadder({ ...playable, width: 1366, height: 768 });
    expect(ladder.video.map((v) => `${v.name} ${v.width}x${v.height}${v.passthrough ? " copy" : ""}`)).toEqual([
      "768p 1366x768 copy", "480p 854x480", "360p 640x360", "144p 256x144",
    ]);
  });

  it("transcodes, saying why, whatever players or the segmenting could not take", () => {
    const reasons = [
      top({ video: { codec: "hevc", profile: "Main", pixFmt: "yuv420p" } }),
      top({ video: { codec: "h264", profile: "High 10", pixFmt: "yuv420p10le" } }),
      top({ video: { codec: "h264", profile: "High", pixFmt: "yuv422p" } }),
      top({ keyframes: { intervalsSeconds: [], intervalsFrames: [], tailSeconds: 4.5, windowSeconds: 4.5 } }),
      top({ keyframes: { intervalsSeconds: [2, 4], intervalsFrames: [60, 120], tailSeconds: 0, windowSeconds: 4.5 } }),
      top({ keyframes: { intervalsSeconds: [1.5], intervalsFrames: [45], tailSeconds: 1, windowSeconds: 4.5 } }),
      top({ width: 3840, height: 2160 }),
      top({ fps: { num: 120, den: 1 } }),
      top({ video: undefined }),
    ];
    expect(reasons.map((r) => r.passthrough)).toEqual(Array(reasons.length).fill(false));
    expect(reasons.map((r) => r.reason)).toEqual([
      "transcoded: the source is hevc, not H.264",
      "transcoded: H.264 profile High 10 is not one every player decodes (use High, Main or Baseline)",
      "transcoded: pixel format yuv422p is not 8-bit 4:2:0",
      "transcoded: no second keyframe within 4.5 s of probing (set the keyframe interval to 2 s)",
      "transcoded: keyframes 4.00 s apart, more than the 2 s segment (set the keyframe interval to 2 s)",
      // 30 fps: the 144p rung keeps every other frame, and would lose every other keyframe
      "transcoded: keyframe spacing (45 frames) is not a multiple of 2, the frame step of a lower rung",
      "transcoded: the source is larger than 1080p",
      "transcoded: 120.00 fps is above 60",
      "transcoded: the source's codec is unknown",
    ]);
  });

  it("allows a millisecond-rounded 2 s at 29.97 fps, and a trailing gap up to the segment", () => {
    expect(top({ fps: { num: 30000, den: 1001 }, keyframes: { intervalsSeconds: [2.002], intervalsFrames: [60], tailSeconds: 2, windowSeconds: 4.5 } }).passthrough).toBe(true);
    expect(top({ keyframes: { intervalsSeconds: [2], intervalsFrames: [60], tailSeconds: 2.3, windowSeconds: 4.5 } }).passthrough).toBe(false);
  });
});
