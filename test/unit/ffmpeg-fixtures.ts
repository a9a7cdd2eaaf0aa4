import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { chooseLadder, type Ladder } from "../../ingest-node/ladder/ladder";
import type { Logger } from "../../ingest-node/logger";
import { muxerPlaylistFile, outputStreamNames, prepareSpool, renditionRelativePlaylist } from "../../ingest-node/packager/dash-output";
import { parseMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import { probeSource } from "../../ingest-node/probe/source-probe";
import { buildFfmpegInvocation } from "../../ingest-node/transcoder/ffmpeg-args";
import { Transcoder, type TranscodeProgress } from "../../ingest-node/transcoder/transcoder";

/** Real sources, the real ffmpeg on the built command line, and what its segments really contain. */
export const run = promisify(execFile);

export interface SourceSpec {
  size: string;
  rate: number | string;
  seconds: number;
  /** keyframe distance in frames */
  gop: number;
  /** "48000:2", "44100:1" or null for none */
  audio: string | null;
}

export async function makeSource(path: string, spec: SourceSpec): Promise<void> {
  const audio = spec.audio?.split(":");
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=${spec.size}:rate=${spec.rate}`,
    ...(audio ? ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=${audio[0]}`] : []),
    "-t", String(spec.seconds),
    // High profile, keyframes exactly every gop frames: what OBS sends with "keyframe interval" set.
    "-c:v", "libx264", "-preset", "superfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
    "-x264-params", `keyint=${spec.gop}:min-keyint=${spec.gop}:scenecut=0`,
    ...(audio ? ["-c:a", "aac", "-ac", audio[1]!] : []),
    path,
  ]);
}

export async function transcode(source: string, outputDir: string, logger: Logger) {
  const info = await probeSource(source);
  const ladder = chooseLadder(info);
  await prepareSpool(outputDir, ladder);
  const transcoder = new Transcoder(buildFfmpegInvocation({ inputUrl: source, outputDir, ladder }), logger);
  const progress: TranscodeProgress[] = [];
  transcoder.on("progress", (p) => progress.push(p));
  const started = Date.now();
  transcoder.run();
  const exit = await transcoder.exited;
  return { info, ladder, exit, progress, seconds: (Date.now() - started) / 1000 };
}

export interface SegmentTiming {
  file: string;
  start: number;
  end: number;
  startsOnKeyframe: boolean;
}

/** The playlist ffmpeg wrote for a rendition, with URIs relative to the rendition's directory. */
export async function muxerPlaylist(outputDir: string, ladder: Ladder, rendition: string): Promise<string> {
  const index = outputStreamNames(ladder).indexOf(rendition);
  return renditionRelativePlaylist(await readFile(join(outputDir, muxerPlaylistFile(index)), "utf8"));
}

/** Each listed segment's presentation interval, read from its packets (init + segment, as a player does). */
export async function segmentTimings(outputDir: string, ladder: Ladder, rendition: string, streamType: "v" | "a"): Promise<SegmentTiming[]> {
  const renditionDir = join(outputDir, rendition);
  const playlist = parseMediaPlaylist(await muxerPlaylist(outputDir, ladder, rendition));
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

/**
 * Every rung cuts at the same instants, each segment starting on a keyframe; audio within one AAC frame.
 * Returns the top rung's segments.
 */
export async function expectAligned(out: string, ladder: Ladder, segmentSeconds = 2): Promise<SegmentTiming[]> {
  const timings: SegmentTiming[][] = [];
  for (const rung of ladder.video) timings.push(await segmentTimings(out, ladder, rung.name, "v"));
  const [top, ...others] = timings;
  expect(top!.length).toBeGreaterThanOrEqual(3);
  for (const segment of top!) expect(segment.startsOnKeyframe).toBe(true);
  others.forEach((rung, r) => {
    // Encoded rungs share one clock exactly. A copied top rung keeps the source's millisecond RTMP times
    // while an encoder puts frames on its rate's grid: the same keyframe, less than one frame apart.
    const { fps } = ladder.video[r + 1]!;
    const tolerance = ladder.top.passthrough ? fps.den / fps.num : 0.001;
    expect(rung.map((s) => s.file)).toEqual(top!.map((s) => s.file));
    rung.forEach((segment, i) => {
      expect(segment.startsOnKeyframe).toBe(true);
      expect(Math.abs(segment.start - top![i]!.start)).toBeLessThan(tolerance);
      // The stream's very last frame lasts one frame interval of its rung, so only the final end differs.
      if (i < rung.length - 1) expect(Math.abs(segment.end - top![i]!.end)).toBeLessThan(tolerance);
    });
    // Between encoded rungs the instants are the same to the millisecond.
    if (r > 0) rung.forEach((segment, i) => expect(Math.abs(segment.start - others[0]![i]!.start)).toBeLessThan(fps.den / fps.num));
  });
  if (ladder.audio) {
    const rate = ladder.source.audio?.sampleRate ?? 48_000;
    // Audio is a rendition of its own: its segments need not start with the video's, but must be the
    // segment target long. The DASH muxer cuts audio when it cuts the video, at the audio packet it has
    // interleaved up to then: give or take the AAC frames (1024 samples) that straddle the cut.
    const audio = await segmentTimings(out, ladder, "audio", "a");
    expect(audio.length).toBeGreaterThanOrEqual(top!.length - 1);
    for (let i = 0; i < audio.length - 1; i++) {
      expect(Math.abs(audio[i + 1]!.start - audio[i]!.start - segmentSeconds)).toBeLessThan((3 * 1024) / rate);
    }
  }
  return top!;
}
