import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseLadder, renditionNames } from "../../ingest-node/ladder/ladder";
import { rewriteMasterPlaylist } from "../../ingest-node/packager/master-playlist";
import { parseMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import { probeSource } from "../../ingest-node/probe/source-probe";
import { buildFfmpegInvocation } from "../../ingest-node/transcoder/ffmpeg-args";
import { Transcoder, type TranscodeProgress } from "../../ingest-node/transcoder/transcoder";
import { captureLogger } from "./ingest-fixtures";

const run = promisify(execFile);

/**
 * The real ffmpeg running the built command line on a recorded source (a file instead of our RTMP URL):
 * every rung must cut its segments at the same instants, or players cannot switch rungs cleanly.
 */
describe("the ladder, encoded by ffmpeg", () => {
  let dir: string;
  const { logger } = captureLogger("warn");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "onair-ffmpeg-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function transcode(source: string, outputDir: string) {
    const info = await probeSource(source);
    const ladder = chooseLadder(info);
    const transcoder = new Transcoder(buildFfmpegInvocation({ inputUrl: source, outputDir, ladder }), logger);
    const progress: TranscodeProgress[] = [];
    transcoder.on("progress", (p) => progress.push(p));
    const started = Date.now();
    transcoder.run();
    const exit = await transcoder.exited;
    return { info, ladder, exit, progress, seconds: (Date.now() - started) / 1000 };
  }

  it("cuts every rung (60 and 30 fps) at the same instants, each segment starting on a keyframe", async () => {
    const source = join(dir, "source-720p60.flv");
    await makeSource(source, "testsrc2=size=1280x720:rate=60", 8, true);
    const out = join(dir, "out-720p60");
    const { info, ladder, exit, progress, seconds } = await transcode(source, out);
    expect(info).toEqual({ width: 1280, height: 720, fps: { num: 60, den: 1 }, hasAudio: true });
    expect(exit).toMatchObject({ code: 0, signal: null, requested: false });
    expect(progress.at(-1)?.speed).toBeGreaterThan(0);
    console.log(`8 s of 1280x720@60 through ${ladder.video.length} rungs + audio: ${seconds.toFixed(1)} s wall, ffmpeg speed ${progress.at(-1)?.speed}x`);

    const timings = new Map<string, SegmentTiming[]>();
    for (const rung of ladder.video) timings.set(rung.name, await segmentTimings(out, rung.name, "v"));
    const [top, ...others] = [...timings.values()];
    expect(top!.length).toBeGreaterThanOrEqual(3);
    for (const segment of top!) expect(segment.startsOnKeyframe).toBe(true);
    for (const rung of others) {
      expect(rung.map((s) => s.file)).toEqual(top!.map((s) => s.file));
      rung.forEach((segment, i) => {
        expect(segment.startsOnKeyframe).toBe(true);
        expect(Math.abs(segment.start - top![i]!.start)).toBeLessThan(0.001);
        // The stream's very last frame lasts one frame interval of its rung, so only the final end differs.
        if (i < rung.length - 1) expect(Math.abs(segment.end - top![i]!.end)).toBeLessThan(0.001);
      });
    }
    // Audio cannot cut mid-frame: its boundaries are within one AAC frame (1024 samples) of the video's.
    const audio = await segmentTimings(out, "audio", "a");
    audio.slice(0, top!.length - 1).forEach((segment, i) => expect(Math.abs(segment.start - top![i]!.start)).toBeLessThan(1024 / 48_000));
  }, 60_000);

  it("writes a master the uploader can rewrite, for a portrait source without audio", async () => {
    const source = join(dir, "source-portrait.flv");
    await makeSource(source, "testsrc2=size=360x640:rate=30", 5, false);
    const out = join(dir, "out-portrait");
    const { ladder, exit } = await transcode(source, out);
    expect(exit.code).toBe(0);
    const master = rewriteMasterPlaylist(await readFile(join(out, "master.m3u8"), "utf8"), "sess01", renditionNames(ladder));
    expect(master).not.toContain("EXT-X-MEDIA");
    expect(master.match(/RESOLUTION=\d+x\d+/g)).toEqual(["RESOLUTION=360x640", "RESOLUTION=144x256"]);
    expect(master).toContain("\nsess01/360p/index.m3u8\n");
    const playlist = parseMediaPlaylist(await readFile(join(out, "360p", "index.m3u8"), "utf8"));
    expect(playlist.ended).toBe(true);
  }, 60_000);
});

async function makeSource(path: string, video: string, seconds: number, audio: boolean): Promise<void> {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", video,
    ...(audio ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
    "-t", String(seconds),
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "250",
    ...(audio ? ["-c:a", "aac"] : []),
    path,
  ]);
}

interface SegmentTiming {
  file: string;
  start: number;
  end: number;
  startsOnKeyframe: boolean;
}

/** Each listed segment's presentation interval, read from its packets (init + segment, as a player does). */
async function segmentTimings(outputDir: string, rendition: string, streamType: "v" | "a"): Promise<SegmentTiming[]> {
  const renditionDir = join(outputDir, rendition);
  const playlist = parseMediaPlaylist(await readFile(join(renditionDir, "index.m3u8"), "utf8"));
  const init = await readFile(join(renditionDir, playlist.initUri));
  const timings: SegmentTiming[] = [];
  for (const { uri } of playlist.segments) {
    const joined = join(renditionDir, `probe-${uri}.mp4`);
    await writeFile(joined, Buffer.concat([init, await readFile(join(renditionDir, uri))]));
    const { stdout } = await run("ffprobe", [
      "-v", "error", "-select_streams", `${streamType}:0`,
      "-show_entries", "packet=pts_time,duration_time,flags", "-of", "json", joined,
    ]);
    const packets = (JSON.parse(stdout) as { packets: { pts_time: string; duration_time: string; flags: string }[] }).packets;
    const starts = packets.map((p) => Number(p.pts_time));
    const ends = packets.map((p) => Number(p.pts_time) + Number(p.duration_time));
    timings.push({ file: uri, start: Math.min(...starts), end: Math.max(...ends), startsOnKeyframe: packets[0]!.flags.startsWith("K") });
  }
  return timings;
}
