import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Logger } from "../logger";

/**
 * The H.264 encoders a ladder can use, as strategies: each names its ffmpeg encoder and the options that
 * make it fit our segments (keyframes where we force them, none of its own at scene cuts, closed GOPs).
 * x264 always works; a hardware encoder is used when ffmpeg has it and a trial encode on this machine
 * succeeds, and the fallback is logged with its reason.
 */
export interface VideoEncoder {
  name: string;
  /** ffmpeg's encoder name, for -c:v */
  codec: string;
  /** options for every encoded rung */
  options: readonly string[];
}

export const X264: VideoEncoder = {
  name: "x264",
  codec: "libx264",
  options: [
    // veryfast with a cheaper motion search costs about half of plain veryfast at 1080p/720p for an
    // SSIM loss of at most 0.002 (field notes); x264 threads stay automatic (frame threads: sliced
    // threads, as -tune zerolatency has, would cost speed for 70 ms less delay).
    // No lookahead (rc-lookahead=0, sync-lookahead=0, and mbtree, which needs it, off): x264 held ~10 frames
    // back, and the muxer holds every rendition, copied ones too, for the slowest encoder: a segment
    // was listed 1.36 s after its last frame was captured, now 0.63 s, for 0.0013 more SSIM loss.
    "-preset", "veryfast",
    "-x264-params", "me=dia:subme=1:partitions=i8x8,i4x4:bframes=1:b-adapt=0:rc-lookahead=0:sync-lookahead=0:mbtree=0",
    // No extra keyframes at scene cuts: they cost bits and would differ between rungs.
    "-sc_threshold", "0",
    // Closed GOPs: no frame refers across a keyframe, so every segment decodes on its own.
    "-flags", "+cgop",
  ],
};

export const NVENC: VideoEncoder = {
  name: "nvenc",
  codec: "h264_nvenc",
  options: [
    // p4: NVIDIA's balanced preset; low-latency tuning holds no frames back for lookahead.
    "-preset", "p4", "-tune", "ll",
    // Forced keyframes become IDR frames (segment starts a player can decode from).
    "-forced-idr", "1",
    // No keyframes of its own at scene cuts, like x264 above.
    "-no-scenecut", "1",
  ],
};

/** Hardware first: the first that passes the trial is used. */
const HARDWARE: readonly VideoEncoder[] = [NVENC];

const run = promisify(execFile);
const TRIAL_TIMEOUT_MS = 10_000;

export interface EncoderChoice {
  encoder: VideoEncoder;
  reason: string;
}

/** Asks ffmpeg which encoders it has, then tries each hardware one on a tiny encode. */
export async function chooseEncoder(logger: Logger, ffmpeg = "ffmpeg"): Promise<EncoderChoice> {
  let listed = "";
  try {
    listed = (await run(ffmpeg, ["-hide_banner", "-encoders"], { timeout: TRIAL_TIMEOUT_MS })).stdout;
  } catch (error) {
    logger.warn({ err: error }, "cannot list ffmpeg's encoders");
  }
  const failures: string[] = [];
  for (const encoder of HARDWARE) {
    if (!new RegExp(`^\\s*V\\S*\\s+${encoder.codec}\\b`, "m").test(listed)) {
      failures.push(`${encoder.codec} not in this ffmpeg`);
      continue;
    }
    try {
      await run(ffmpeg, trialArgs(encoder), { timeout: TRIAL_TIMEOUT_MS });
      const choice = { encoder, reason: `${encoder.codec} passed a trial encode` };
      logger.info({ encoder: encoder.name }, `video encoder: ${choice.reason}`);
      return choice;
    } catch (error) {
      failures.push(`${encoder.codec} failed a trial encode (${String((error as { stderr?: string }).stderr ?? error).trim().split("\n").at(-1)})`);
    }
  }
  const choice = { encoder: X264, reason: `falling back to x264: ${failures.join("; ")}` };
  logger.info({ encoder: X264.name }, `video encoder: ${choice.reason}`);
  return choice;
}

/** Ten frames of a test pattern through the encoder with our options, to nowhere. */
export function trialArgs(encoder: VideoEncoder): string[] {
  return [
    "-hide_banner", "-loglevel", "error", "-nostdin",
    "-f", "lavfi", "-i", "testsrc2=size=256x144:rate=30",
    "-frames:v", "10", "-c:v", encoder.codec, ...encoder.options,
    "-f", "null", "-",
  ];
}
