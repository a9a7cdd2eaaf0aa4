import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatRational, renditionNames } from "../../ingest-node/ladder/ladder";
import { outputStreamNames } from "../../ingest-node/packager/dash-output";
import { rewriteMasterPlaylist } from "../../ingest-node/packager/master-playlist";
import { SegmentWatcher } from "../../ingest-node/packager/segment-watcher";
import { parsePlaylist } from "../helpers/hls";
import { captureLogger } from "./ingest-fixtures";
import { expectAligned, makeSource, muxerPlaylist, run, transcode, type SourceSpec } from "./ffmpeg-fixtures";

/**
 * The real ffmpeg running the built command line on a recorded source (a file instead of our RTMP URL):
 * every rung must cut its segments at the same instants, or players cannot switch rungs cleanly; the
 * source's own video is the top rung only when its keyframes allow that.
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

  async function encode(name: string, spec: SourceSpec) {
    const source = join(dir, `${name}.flv`);
    await makeSource(source, spec);
    const out = join(dir, name);
    const result = await transcode(source, out, logger);
    expect(result.exit).toMatchObject({ code: 0, signal: null, requested: false });
    const rungs = result.ladder.video.map((v) => `${v.name} ${v.width}x${v.height}@${formatRational(v.fps)}${v.passthrough ? " copy" : ""}`);
    return { ...result, out, rungs };
  }

  it("passes a 60 fps H.264 source with 2 s keyframes through as the top rung, every rung aligned", async () => {
    const { info, ladder, out, rungs, progress } = await encode("720p60", { size: "1280x720", rate: 60, seconds: 7, gop: 120, audio: "48000:2" });
    expect(info).toMatchObject({ width: 1280, height: 720, fps: { num: 60, den: 1 }, hasAudio: true, video: { codec: "h264", profile: "High", pixFmt: "yuv420p" } });
    expect(info.keyframes?.intervalsSeconds[0]).toBeCloseTo(2, 2);
    expect(ladder.top).toEqual({ passthrough: true, reason: "passthrough: H.264 High, keyframes every 2.00 s" });
    expect(rungs).toEqual(["720p 1280x720@60 copy", "480p 854x480@30", "360p 640x360@30", "144p 256x144@15"]);
    expect(progress.at(-1)?.speed).toBeGreaterThan(0);
    await expectAligned(out, ladder);
    // the poster, from the first encoded rung
    const poster = await run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", join(out, "poster.jpg")]);
    expect(poster.stdout.trim()).toBe("mjpeg,854,480");
    // Every encoded rung in the source's limited-range yuv420p, not the poster's full-range format.
    for (const rung of ladder.video.filter((v) => !v.passthrough)) {
      const playlist = parsePlaylist(await muxerPlaylist(out, ladder, rung.name));
      const first = playlist.segments[0]!;
      const sample = join(out, `${rung.name}-sample.mp4`);
      await writeFile(sample, Buffer.concat([await readFile(join(out, rung.name, first.map!.uri)), await readFile(join(out, rung.name, first.uri))]));
      const probe = await run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0", sample]);
      expect(probe.stdout.trim(), rung.name).toBe("yuv420p");
    }
  }, 60_000);

  it("transcodes a source keyframing every 10 s, still cutting aligned 2 s segments", async () => {
    const { ladder, out } = await encode("gop10", { size: "640x360", rate: 30, seconds: 11, gop: 300, audio: "48000:2" });
    expect(ladder.top.passthrough).toBe(false);
    expect(ladder.top.reason).toBe("transcoded: no second keyframe within 4.5 s of probing (set the keyframe interval to 2 s)");
    const top = await expectAligned(out, ladder);
    for (const segment of top.slice(0, -1)) expect(segment.end - segment.start).toBeCloseTo(2, 1);
  }, 60_000);

  it("keeps an odd 1366x768 25 fps source's shape, mono 44.1 kHz audio aligned", async () => {
    const { info, ladder, out, rungs } = await encode("768p25", { size: "1366x768", rate: 25, seconds: 7, gop: 50, audio: "44100:1" });
    expect(info.audio).toEqual({ codec: "aac", sampleRate: 44100, channels: 1 });
    expect(rungs).toEqual(["768p 1366x768@25 copy", "480p 854x480@25", "360p 640x360@25", "144p 256x144@25/2"]);
    await expectAligned(out, ladder);
  }, 60_000);

  it("writes a master from the real segments, for a portrait source without audio, the source passed through", async () => {
    const { ladder, out, info, rungs } = await encode("portrait", { size: "360x640", rate: 30, seconds: 5, gop: 60, audio: null });
    expect(info.hasAudio).toBe(false);
    expect(rungs).toEqual(["360p 360x640@30 copy", "144p 144x256@15"]);
    // The watcher over what ffmpeg left: the master from the measured segments, and the poster.
    const masters: string[] = [];
    const posters: Buffer[] = [];
    const watcher = new SegmentWatcher({
      dir: out, renditions: renditionNames(ladder), streams: outputStreamNames(ladder), logger,
      onPlaylist: () => {}, onMaster: (text) => masters.push(text), onPoster: (jpeg) => posters.push(jpeg),
    });
    await watcher.stop();
    expect(masters).toHaveLength(1);
    expect(posters.map((p) => p.subarray(0, 2).toString("hex"))).toEqual(["ffd8"]);
    const master = rewriteMasterPlaylist(masters[0]!, "sess01", renditionNames(ladder));
    const parsed = parsePlaylist(master);
    expect(parsed.mediaGroups?.AUDIO).toEqual({});
    const variants = (parsed.playlists ?? []).map((p) => ({ uri: p.uri, ...p.attributes }));
    // the copied source's own codec string (High, level 3.0 at this size), then the encoded rung's
    expect(variants).toMatchObject([
      { uri: "sess01/360p/index.m3u8", CODECS: "avc1.64001e", RESOLUTION: { width: 360, height: 640 }, "FRAME-RATE": 30 },
      { uri: "sess01/144p/index.m3u8", CODECS: "avc1.64000b", RESOLUTION: { width: 144, height: 256 }, "FRAME-RATE": 15 },
    ]);
    // m3u8-parser leaves AVERAGE-BANDWIDTH a string
    const average = variants.map((v) => Number(v["AVERAGE-BANDWIDTH"]));
    variants.forEach((v, i) => expect(v.BANDWIDTH).toBeGreaterThanOrEqual(average[i]!));
    expect(average[0]).toBeGreaterThan(average[1]! * 2);
    expect(master).toContain("#EXT-X-INDEPENDENT-SEGMENTS");
    await expectAligned(out, ladder);
  }, 60_000);
});
