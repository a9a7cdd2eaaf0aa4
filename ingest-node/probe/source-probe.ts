import { execFile } from "node:child_process";
import { z } from "zod";
import type { Rational, SourceInfo } from "../ladder/ladder";
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
    }),
  ),
});

/** A publisher that sends nothing readable for this long is not going to. */
const PROBE_TIMEOUT_MS = 15_000;

export async function probeSource(url: string, options: { signal?: AbortSignal } = {}): Promise<SourceInfo> {
  const args = [
    "-v", "error",
    "-analyzeduration", String(ANALYZE_MICROSECONDS),
    "-show_entries", "stream=codec_type,width,height,avg_frame_rate,r_frame_rate",
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
  return {
    width: video.width!,
    height: video.height!,
    fps: parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate),
    hasAudio: parsed.data.streams.some((s) => s.codec_type === "audio"),
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
