import { execFile } from "node:child_process";
import { z } from "zod";
import { TARGET_DURATION_SECONDS } from "../../workers/shared/cache-policy";
import type { KeyframeSpacing, Rational, SourceInfo } from "../ladder/ladder";
import { redactStreamKeys } from "../logger";

/**
 * What the publisher really sends, asked of ffprobe over our own RTMP play URL rather than trusted from
 * the publisher's onMetaData (optional, and set by the encoder's settings, not its output).
 */
export class ProbeError extends Error {}

/**
 * How long ffprobe (and the transcoder's input) listens for streams. RTMP's FLV header always announces an
 * audio track, so a source without audio would otherwise hold the start back for the default 5 s.
 */
export const ANALYZE_MICROSECONDS = 2_000_000;

const probeOutput = z.object({
  streams: z.array(
    z.object({
      codec_type: z.string(),
      width: z.number().int().positive().optional(),
      height: z.number().int().positive().optional(),
      avg_frame_rate: z.string().optional(),
      r_frame_rate: z.string().optional(),
      codec_name: z.string().optional(),
      profile: z.string().optional(),
      pix_fmt: z.string().optional(),
      sample_rate: z.coerce.number().optional(),
      channels: z.number().optional(),
    }),
  ),
  packets: z.array(z.object({ codec_type: z.string(), pts_time: z.coerce.number().optional(), flags: z.string() })).default([]),
});

/**
 * How much of the source the probe reads to learn its keyframe spacing: two segment targets, so a source
 * keyframing every target shows at least one whole interval. It delays the start by at most this (less
 * the GOP node-media-server replays at once).
 */
export const KEYFRAME_WINDOW_SECONDS = 2 * TARGET_DURATION_SECONDS + 0.5;

/** A publisher that sends nothing readable for this long is not going to. */
const PROBE_TIMEOUT_MS = 15_000;

export async function probeSource(url: string, options: { signal?: AbortSignal } = {}): Promise<SourceInfo> {
  const args = [
    "-v", "error",
    "-analyzeduration", String(ANALYZE_MICROSECONDS),
    "-show_entries",
    "stream=codec_type,codec_name,profile,pix_fmt,width,height,avg_frame_rate,r_frame_rate,sample_rate,channels:packet=codec_type,pts_time,flags",
    // Packets of this much media only (from where playback starts): enough to see keyframe spacing.
    "-read_intervals", `%+${KEYFRAME_WINDOW_SECONDS}`,
    "-of", "json",
    url,
  ];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile("ffprobe", args, { timeout: PROBE_TIMEOUT_MS, signal: options.signal }, (error, out, err) => {
      if (error) {
        const detail = redactStreamKeys(String(err).trim() || error.message);
        reject(new ProbeError(`ffprobe could not read the published stream (${detail}); is the publisher sending H.264 video?`));
      } else resolve(out);
    });
  });
  const parsed = probeOutput.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new ProbeError(`ffprobe answered something unexpected: ${parsed.error.message}`);
  const video = parsed.data.streams.find((s) => s.codec_type === "video" && s.width && s.height);
  if (!video) throw new ProbeError("the published stream has no video; set the encoder to send H.264 video");
  const audio = parsed.data.streams.find((s) => s.codec_type === "audio");
  return {
    width: video.width!,
    height: video.height!,
    fps: parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate),
    hasAudio: audio !== undefined,
    video: { codec: video.codec_name ?? "unknown", profile: video.profile ?? null, pixFmt: video.pix_fmt ?? null },
    keyframes: keyframeSpacing(parsed.data.packets.filter((p) => p.codec_type === "video")),
    ...(audio ? { audio: { codec: audio.codec_name ?? "unknown", sampleRate: audio.sample_rate ?? 0, channels: audio.channels ?? 0 } } : {}),
  };
}

/** Video packets in decode order; a frame's packet counts once, whatever its presentation time. */
export function keyframeSpacing(packets: readonly { pts_time?: number; flags: string }[]): KeyframeSpacing {
  const keyTimes: number[] = [];
  const intervalsFrames: number[] = [];
  let framesSinceKey = -1;
  let lastPts = -Infinity;
  for (const packet of packets) {
    if (packet.pts_time === undefined) continue;
    lastPts = Math.max(lastPts, packet.pts_time);
    if (packet.flags.startsWith("K")) {
      if (framesSinceKey >= 0) intervalsFrames.push(framesSinceKey);
      keyTimes.push(packet.pts_time);
      framesSinceKey = 0;
    }
    if (framesSinceKey >= 0) framesSinceKey += 1;
  }
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    intervalsSeconds: keyTimes.slice(1).map((t, i) => round(t - keyTimes[i]!)),
    intervalsFrames,
    tailSeconds: keyTimes.length > 0 ? round(lastPts - keyTimes.at(-1)!) : 0,
    windowSeconds: KEYFRAME_WINDOW_SECONDS,
  };
}

function parseRate(text: string | undefined): Rational | null {
  const match = /^(\d+)\/(\d+)$/.exec(text ?? "");
  if (!match) return null;
  const num = Number(match[1]);
  const den = Number(match[2]);
  // Rates beyond 240 fps are timestamp noise, not a camera.
  return num > 0 && den > 0 && num / den <= 240 ? { num, den } : null;
}
