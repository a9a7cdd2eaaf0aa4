import { z } from "zod";
import { TARGET_DURATION_SECONDS } from "../../workers/shared/cache-policy";
import { decidePassthrough, type PassthroughDecision } from "./passthrough";

/**
 * Chooses the renditions for one publish from what the source really is. Pure, so every rule here is
 * tested without ffmpeg. Issue 3 (source-aware ladder, passthrough, shedding rungs) grows from this file.
 */
export interface Rational {
  num: number;
  den: number;
}

export interface SourceInfo {
  width: number;
  height: number;
  /** null when the source does not say (ffprobe "0/0") */
  fps: Rational | null;
  hasAudio: boolean;
  /** absent when the probe could not say: then the source is transcoded */
  video?: { codec: string; profile: string | null; pixFmt: string | null };
  keyframes?: KeyframeSpacing;
  audio?: { codec: string; sampleRate: number; channels: number };
}

/** Keyframe spacing seen in the first seconds of the source. */
export interface KeyframeSpacing {
  /** seconds between consecutive keyframes; empty when only one keyframe was seen */
  intervalsSeconds: number[];
  /** video frames between consecutive keyframes */
  intervalsFrames: number[];
  /** seconds from the last keyframe to the last frame seen: the next interval is at least this */
  tailSeconds: number;
  windowSeconds: number;
}

interface RungSpec {
  name: string;
  /** the "p" number: height of a landscape picture, width of a portrait one */
  shortSide: number;
  videoKbps: number;
  maxFps: number;
}

// Below 720p motion smoothness buys less than the bits it costs; 144p is the last resort on a bad
// network, where 15 fps keeps the picture moving (field notes: the ladder study ran it so).
const DEFAULT_RUNGS: readonly RungSpec[] = [
  { name: "1080p", shortSide: 1080, videoKbps: 5000, maxFps: 60 },
  { name: "720p", shortSide: 720, videoKbps: 2800, maxFps: 60 },
  { name: "480p", shortSide: 480, videoKbps: 1400, maxFps: 30 },
  { name: "360p", shortSide: 360, videoKbps: 800, maxFps: 30 },
  { name: "144p", shortSide: 144, videoKbps: 200, maxFps: 15 },
];
const DEFAULT_AUDIO_KBPS = 128;
export const AUDIO_RENDITION = "audio";
const ASSUMED_FPS: Rational = { num: 30, den: 1 };

/** kbps per rung name ("720p") or for "audio"; from ONAIR_LADDER */
export type BitrateOverrides = Partial<Record<string, number>>;

const overridable: [string, ...string[]] = [AUDIO_RENDITION, ...DEFAULT_RUNGS.map((r) => r.name)];
export const ladderOverridesSchema = z.partialRecord(
  z.enum(overridable, { error: `rung names are ${overridable.join(", ")}` }),
  z.number().int().min(16).max(50_000),
) satisfies z.ZodType<BitrateOverrides>;

export interface VideoRendition {
  name: string;
  /** the source's own video, copied: no decode, scale or encode for this rung */
  passthrough: boolean;
  width: number;
  height: number;
  fps: Rational;
  /** true when fps is below the source's, so the encoder input needs an fps filter */
  reducedFps: boolean;
  videoKbps: number;
  maxrateKbps: number;
  bufsizeKbps: number;
}

export interface AudioRendition {
  name: typeof AUDIO_RENDITION;
  kbps: number;
}

export interface Ladder {
  source: SourceInfo;
  /** highest first: each rung is scaled from the one above it */
  video: VideoRendition[];
  audio: AudioRendition | null;
  /** whether the top rung is the source itself, and why (logged and shown in the stream's status) */
  top: PassthroughDecision;
}

export function chooseLadder(source: SourceInfo, overrides: BitrateOverrides = {}, segmentSeconds = TARGET_DURATION_SECONDS): Ladder {
  const portrait = source.height > source.width;
  const sourceShort = Math.min(source.width, source.height);
  const sourceLong = Math.max(source.width, source.height);
  const sourceFps = source.fps ?? ASSUMED_FPS;

  let rungs = DEFAULT_RUNGS.filter((r) => r.shortSide <= sourceShort);
  // A source smaller than the smallest rung is still streamed, at its own size.
  if (rungs.length === 0) rungs = [{ ...DEFAULT_RUNGS.at(-1)!, name: `${evenFloor(sourceShort)}p`, shortSide: evenFloor(sourceShort) }];

  const video = rungs.map((rung): VideoRendition => {
    const short = Math.min(rung.shortSide, evenFloor(sourceShort));
    // Keep the aspect ratio, rounded to even (4:2:0 chroma needs it), never wider than the source.
    const long = Math.min(evenRound((short * sourceLong) / sourceShort), evenFloor(sourceLong));
    const fps = fpsAtMost(sourceFps, rung.maxFps);
    const kbps = overrides[rung.name] ?? rung.videoKbps;
    return {
      name: rung.name,
      passthrough: false,
      width: portrait ? short : long,
      height: portrait ? long : short,
      fps,
      reducedFps: fps.den !== sourceFps.den || fps.num !== sourceFps.num,
      videoKbps: kbps,
      // Capped VBR: peaks stay near the BANDWIDTH the master playlist advertises, so ABR switching holds.
      maxrateKbps: Math.round(kbps * 1.07),
      bufsizeKbps: Math.round(kbps * 1.5),
    };
  });
  const audio: AudioRendition | null = source.hasAudio ? { name: AUDIO_RENDITION, kbps: overrides[AUDIO_RENDITION] ?? DEFAULT_AUDIO_KBPS } : null;
  const frameSteps = video.slice(1).map((v) => Math.round((sourceFps.num * v.fps.den) / (sourceFps.den * v.fps.num)));
  const top = sourceShort > DEFAULT_RUNGS[0]!.shortSide
    ? { passthrough: false, reason: `transcoded: the source is larger than ${DEFAULT_RUNGS[0]!.name}` }
    : decidePassthrough(source, segmentSeconds, frameSteps);
  // The source replaces the top rung at its own size and rate (and its own bitrate: the rung's is nominal).
  if (top.passthrough) video[0] = { ...video[0]!, name: `${sourceShort}p`, passthrough: true, width: source.width, height: source.height, fps: sourceFps, reducedFps: false };
  return { source, video, audio, top };
}

/**
 * The source rate divided by the smallest whole number that brings it under the cap: dropping every
 * other frame (60 -> 30, 59.94 -> 29.97) keeps motion even and keeps frame times on the source's grid,
 * so forced keyframes land at the same instants in every rung.
 */
function fpsAtMost(source: Rational, cap: number): Rational {
  let divisor = 1;
  while (source.num / (source.den * divisor) > cap + 1e-6) divisor += 1;
  return reduce({ num: source.num, den: source.den * divisor });
}

function reduce({ num, den }: Rational): Rational {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

export function formatRational({ num, den }: Rational): string {
  return den === 1 ? String(num) : `${num}/${den}`;
}

function evenRound(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

function evenFloor(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}

export function renditionNames(ladder: Ladder): string[] {
  return [...(ladder.audio ? [ladder.audio.name] : []), ...ladder.video.map((v) => v.name)];
}
