import { MEDIA_PLAYLIST_FILE } from "../../workers/shared/layout";
import { AUDIO_RENDITION } from "../ladder/ladder";
import type { TrackFacts } from "./mp4-boxes";

/**
 * Writes the master playlist from what the renditions really are, not from what was asked of the
 * encoders: a passed-through source has no nominal bitrate, and ffmpeg leaves a variant it cannot give a
 * bandwidth out of its own master. URIs are relative (720p/index.m3u8), like ffmpeg's, for
 * master-playlist.ts to point at the session. Pure.
 */
export interface SegmentFacts {
  bytes: number;
  seconds: number;
  /** frames (video) or AAC frames (audio) */
  samples: number;
}

export interface RenditionFacts {
  name: string;
  track: TrackFacts;
  segments: readonly SegmentFacts[];
}

/** the audio group every variant shares */
export const AUDIO_GROUP = "group_aud";

export function buildMasterPlaylist(renditions: readonly RenditionFacts[]): string {
  const audio = renditions.find((r) => r.name === AUDIO_RENDITION);
  const video = renditions.filter((r) => r.name !== AUDIO_RENDITION);
  const lines = [
    "#EXTM3U",
    // EXT-X-MAP in media playlists without I-frame-only segments needs version 6; ffmpeg writes 7.
    "#EXT-X-VERSION:7",
    // Every segment of every rung starts with a keyframe and decodes on its own (closed GOPs).
    "#EXT-X-INDEPENDENT-SEGMENTS",
  ];
  if (audio) {
    const channels = audio.track.channels ? `,CHANNELS="${audio.track.channels}"` : "";
    lines.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${AUDIO_GROUP}",NAME="${audio.name}",DEFAULT=YES,AUTOSELECT=YES${channels},URI="${uri(audio)}"`);
  }
  const audioRate = audio ? bitrates(audio) : { peak: 0, average: 0 };
  for (const rung of video) {
    const rate = bitrates(rung);
    const attributes = [
      // Peak and mean segment bitrate, audio included (RFC 8216 4.3.4.2): what ABR decisions compare.
      `BANDWIDTH=${rate.peak + audioRate.peak}`,
      `AVERAGE-BANDWIDTH=${rate.average + audioRate.average}`,
      `RESOLUTION=${rung.track.width}x${rung.track.height}`,
      `FRAME-RATE=${frameRate(rung).toFixed(3)}`,
      `CODECS="${[rung.track.codec, ...(audio ? [audio.track.codec] : [])].join(",")}"`,
      ...(audio ? [`AUDIO="${AUDIO_GROUP}"`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(",")}`, uri(rung));
  }
  return `${lines.join("\n")}\n`;
}

function uri(rendition: RenditionFacts): string {
  return `${rendition.name}/${MEDIA_PLAYLIST_FILE}`;
}

/** bits per second: the highest of any segment, and over all of them */
function bitrates({ segments }: RenditionFacts): { peak: number; average: number } {
  const timed = segments.filter((s) => s.seconds > 0);
  const peak = Math.max(0, ...timed.map((s) => (s.bytes * 8) / s.seconds));
  const seconds = timed.reduce((sum, s) => sum + s.seconds, 0);
  const average = seconds > 0 ? timed.reduce((sum, s) => sum + s.bytes * 8, 0) / seconds : 0;
  return { peak: Math.ceil(peak), average: Math.ceil(average) };
}

/** Rates our ladder produces (source rates and their halves and quarters). */
const COMMON_RATES = [60, 60000 / 1001, 50, 30, 30000 / 1001, 25, 24, 24000 / 1001, 15, 15000 / 1001, 12.5];

/** Frames over seconds, snapped to the nearest common rate within 1% (segment durations are rounded to frames). */
function frameRate({ segments }: RenditionFacts): number {
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const measured = seconds > 0 ? segments.reduce((sum, s) => sum + s.samples, 0) / seconds : 0;
  const nearest = COMMON_RATES.reduce((best, rate) => (Math.abs(rate - measured) < Math.abs(best - measured) ? rate : best));
  return Math.abs(nearest - measured) / nearest < 0.01 ? nearest : measured;
}
