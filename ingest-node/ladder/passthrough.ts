import type { Rational, SourceInfo } from "./ladder";

/**
 * Whether the source's own video can be the top rung as it is (no decode-encode for the most expensive
 * rung; field notes: 2.10x -> 3.23x on two cores). Pure: the reason is shown to the streamer, so every
 * branch says in plain words what to change in the encoder to get it.
 */
export interface PassthroughDecision {
  passthrough: boolean;
  reason: string;
}

/** What players decode through MSE everywhere: 8-bit 4:2:0 H.264 in these profiles. */
const PLAYABLE_PROFILES = new Set(["Constrained Baseline", "Baseline", "Main", "High"]);
const PLAYABLE_PIXEL_FORMATS = new Set(["yuv420p", "yuvj420p"]);
/** RTMP timestamps are whole milliseconds: 60 frames at 29.97 fps are 2.002 s apart. */
const INTERVAL_TOLERANCE_SECONDS = 0.05;
const MAX_PASSTHROUGH_FPS = 60;

export function decidePassthrough(
  source: SourceInfo,
  segmentSeconds: number,
  /** per encoded rung below the top, how many source frames make one of its frames (60 -> 30 fps: 2) */
  frameSteps: readonly number[],
): PassthroughDecision {
  const no = (reason: string): PassthroughDecision => ({ passthrough: false, reason: `transcoded: ${reason}` });
  const { video, keyframes } = source;
  if (!video) return no("the source's codec is unknown");
  if (video.codec !== "h264") return no(`the source is ${video.codec}, not H.264`);
  if (!video.profile || !PLAYABLE_PROFILES.has(video.profile)) return no(`H.264 profile ${video.profile ?? "unknown"} is not one every player decodes (use High, Main or Baseline)`);
  if (!video.pixFmt || !PLAYABLE_PIXEL_FORMATS.has(video.pixFmt)) return no(`pixel format ${video.pixFmt ?? "unknown"} is not 8-bit 4:2:0`);
  if (fpsOf(source.fps) > MAX_PASSTHROUGH_FPS) return no(`${fpsOf(source.fps).toFixed(2)} fps is above ${MAX_PASSTHROUGH_FPS}`);
  if (!keyframes || keyframes.intervalsSeconds.length === 0) {
    return no(`no second keyframe within ${keyframes?.windowSeconds ?? "the"} s of probing (set the keyframe interval to ${segmentSeconds} s)`);
  }
  const longest = Math.max(...keyframes.intervalsSeconds, keyframes.tailSeconds);
  if (longest > segmentSeconds + INTERVAL_TOLERANCE_SECONDS) {
    return no(`keyframes ${longest.toFixed(2)} s apart, more than the ${segmentSeconds} s segment (set the keyframe interval to ${segmentSeconds} s)`);
  }
  // Lower rungs take their keyframes from the source's; a rung keeping every n-th frame must keep them.
  const step = frameSteps.find((n) => keyframes.intervalsFrames.some((frames) => frames % n !== 0));
  if (step !== undefined) return no(`keyframe spacing (${keyframes.intervalsFrames.join(", ")} frames) is not a multiple of ${step}, the frame step of a lower rung`);
  return { passthrough: true, reason: `passthrough: H.264 ${video.profile}, keyframes every ${longest.toFixed(2)} s` };
}

function fpsOf(fps: Rational | null): number {
  return fps ? fps.num / fps.den : 0;
}
