import { AUDIO_RENDITION } from "../ladder/ladder";
import type { TrackFacts } from "./mp4-boxes";

/**
 * The live DASH manifest (live/<streamId>/manifest.mpd): a dynamic MPD over the same stored CMAF segments
 * and init segments the HLS playlists name, rendered from the same stored windows, so it never names a
 * segment that is not stored. Pure: the uploader gives it the windows, the facts it read from the boxes
 * and the wall-clock anchors; the clock is an input, so it is tested byte-exact.
 *
 * Timing. SegmentTimeline rather than @duration: segments are cut at keyframes and are not exactly the
 * nominal length (audio even less so), and a timeline of real decode times (tfdt) and durations (trun)
 * stays exact however long the session runs. Each ffmpeg run starts its media time over, so each run is
 * a Period of its own (a reconnect, a crash, a new ladder): its presentationTimeOffset is the run's first
 * decode time, its start the wall-clock instant the uploader anchored the run at (its first stored
 * segment's store time minus that segment's duration), so a run encoded in real time announces each
 * segment about when it is stored. That is what a DASH player trusts: it plays at "now - delay" on the
 * MPD's timeline, with now from UTCTiming. A run's Period is listed while every rendition has one of its
 * segments in its window. The time between two runs (a publisher reconnecting) has no media: the DASH-IF
 * timing model wants Periods covered by segments, but closing the gap would announce the next run's
 * segments before they exist; dash.js jumps it (gaps.jumpLargeGaps, on by default).
 *
 * The end (DASH-IF timing model, "End of live content"): the last Period gets a fixed duration (and the
 * MPD @mediaPresentationDuration), @minimumUpdatePeriod goes, and the MPD is not updated again. It stays
 * type="dynamic", as the guidelines allow: dash.js stops updating on a switch to static mid-play and
 * ignores the static MPD.
 */
export interface SegmentMedia {
  /** tfdt: the decode time of its first sample, in its init segment's timescale */
  decodeTime: number;
  /** the sum of its sample durations, same units */
  duration: number;
  bytes: number;
  /** frames (video) or AAC frames (audio) */
  samples: number;
}

export interface DashSegment {
  sequence: number;
  /** the ffmpeg run (its spool directory) that wrote it: one Period per run */
  run: string;
  /** the stored init segment it decodes with (layout: init-<n>.mp4) */
  initFile: string;
  /** read from its boxes; null if they could not be read, and then never listed */
  media: SegmentMedia | null;
}

export interface DashInit {
  /** mdhd: the track's units of time per second */
  timescale: number;
  track: TrackFacts;
}

export interface DashRendition {
  name: string;
  /** the stored live window, oldest first */
  segments: readonly DashSegment[];
  /** facts of the stored init files, by file name */
  inits: ReadonlyMap<string, DashInit>;
}

export interface DashRunClock {
  run: string;
  /** Period@id: stable for as long as the Period is listed */
  id: string;
  /** where the run's first media time sits on the MPD timeline, ms after availabilityStartTime */
  startMs: number;
  /** that first media time as originTime / originTimescale seconds (a decode time and its timescale) */
  originTime: number;
  originTimescale: number;
}

export interface DashManifestInput {
  sessionId: string;
  /** ms since the epoch: the first run's anchor, i.e. Period 1 starts here */
  availabilityStartMs: number;
  publishMs: number;
  /** the nominal segment duration: how often the MPD changes */
  segmentSeconds: number;
  /** how far behind the live edge segments stay listed (the HLS window) */
  timeShiftBufferSeconds: number;
  /** how far behind the live edge players should play (HLS players hold back three segments) */
  presentationDelaySeconds: number;
  /** the session is over: the last MPD, with its duration */
  ended: boolean;
  /** a clock players sync with (http-iso), resolved against the MPD's URL */
  utcTimingUrl: string;
  /** every run of the session, oldest first */
  clocks: readonly DashRunClock[];
  /** the renditions produced now, video rungs highest first */
  renditions: readonly DashRendition[];
}

/** The layout's segment names (seg-00001.m4s, layout.ts segmentFileName) as a DASH template. */
export const SEGMENT_TEMPLATE = "seg-$Number%05d$.m4s";

interface Listed {
  rendition: DashRendition;
  init: DashInit;
  initFile: string;
  segments: (DashSegment & { media: SegmentMedia })[];
  pto: number;
}

/** The MPD, or null while no run has a segment of every rendition stored. */
export function renderDashManifest(input: DashManifestInput): string | null {
  const periods = input.clocks
    .map((clock) => ({ clock, listed: input.renditions.map((r) => listSegments(r, clock)) }))
    .filter((p): p is { clock: DashRunClock; listed: Listed[] } => p.listed.length > 0 && p.listed.every((l) => l !== null));
  if (periods.length === 0) return null;
  const last = periods.at(-1)!;
  const endSeconds = Math.max(...last.listed.map((l) => last.clock.startMs / 1000 + (end(l) - l.pto) / l.init.timescale));
  const attributes = [
    `xmlns="urn:mpeg:dash:schema:mpd:2011"`,
    // ffmpeg's fragments carry iso5/iso6 brands, not cmfc: the CMAF profile would claim too much.
    `profiles="urn:mpeg:dash:profile:isoff-live:2011"`,
    `type="dynamic"`,
    `availabilityStartTime="${new Date(input.availabilityStartMs).toISOString()}"`,
    `publishTime="${new Date(input.publishMs).toISOString()}"`,
    // Once ended: the duration, and no more updates to wait for.
    input.ended ? `mediaPresentationDuration="${duration(Math.round(endSeconds * 1000))}"` : `minimumUpdatePeriod="${duration(input.segmentSeconds * 1000)}"`,
    `timeShiftBufferDepth="${duration(input.timeShiftBufferSeconds * 1000)}"`,
    `suggestedPresentationDelay="${duration(input.presentationDelaySeconds * 1000)}"`,
    `minBufferTime="${duration(input.segmentSeconds * 1000)}"`,
  ];
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`, `<MPD ${attributes.join(" ")}>`];
  for (const { clock, listed } of periods) {
    const fixed = input.ended && clock === last.clock ? ` duration="${duration(Math.round(endSeconds * 1000) - clock.startMs)}"` : "";
    lines.push(`  <Period id="${clock.id}" start="${duration(clock.startMs)}"${fixed}>`);
    const video = listed.filter((l) => l.rendition.name !== AUDIO_RENDITION);
    const audio = listed.filter((l) => l.rendition.name === AUDIO_RENDITION);
    // Ids stay the same in every Period, so a player keeps its track selection across them.
    if (video.length > 0) {
      // One ffmpeg cuts every rung at the same keyframes: segments align, and each starts with one.
      lines.push(`    <AdaptationSet id="1" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">`);
      for (const l of video) {
        const { width, height, codec } = l.init.track;
        lines.push(`      <Representation id="${l.rendition.name}" bandwidth="${bandwidth(l)}" width="${width}" height="${height}" frameRate="${frameRate(l)}" codecs="${codec}">`);
        lines.push(...template(input.sessionId, l), `      </Representation>`);
      }
      lines.push(`    </AdaptationSet>`);
    }
    for (const l of audio) {
      lines.push(`    <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">`);
      // For AAC the mdhd timescale is the sampling rate (ffmpeg's mp4 muxer).
      lines.push(`      <Representation id="${l.rendition.name}" bandwidth="${bandwidth(l)}" audioSamplingRate="${l.init.timescale}" codecs="${l.init.track.codec}">`);
      const channels = l.init.track.channels ?? 2;
      lines.push(`        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${channels}"/>`);
      lines.push(...template(input.sessionId, l), `      </Representation>`, `    </AdaptationSet>`);
    }
    lines.push(`  </Period>`);
  }
  // A clock from the edge itself: without one dash.js asks time.akamai.com, and a time written into the
  // MPD (utc:direct) is as stale as the cached MPD. The direct value only backs up the edge's.
  lines.push(`  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="${input.utcTimingUrl}"/>`);
  lines.push(`  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${new Date(input.publishMs).toISOString()}"/>`);
  lines.push(`</MPD>`);
  return `${lines.join("\n")}\n`;
}

/**
 * A rendition's segments of one run, or null if it has none to list. $Number$ counts segments (an S
 * and each of its repeats), so the listed ones must be consecutive: any before one whose boxes were
 * unreadable are left out.
 */
function listSegments(rendition: DashRendition, clock: DashRunClock): Listed | null {
  const ofRun = rendition.segments.filter((s) => s.run === clock.run);
  let first = ofRun.length;
  while (first > 0 && ofRun[first - 1]!.media !== null && ofRun[first - 1]!.initFile === ofRun.at(-1)!.initFile) first -= 1;
  const segments = ofRun.slice(first) as Listed["segments"];
  if (segments.length === 0) return null;
  const initFile = segments[0]!.initFile;
  const init = rendition.inits.get(initFile);
  if (!init) return null;
  const pto = Math.round((clock.originTime * init.timescale) / clock.originTimescale);
  return { rendition, init, initFile, segments, pto };
}

function template(sessionId: string, l: Listed): string[] {
  const name = l.rendition.name;
  // URLs relative to the MPD (live/<streamId>/manifest.mpd), like the stream's master playlist's.
  const lines = [
    `        <SegmentTemplate timescale="${l.init.timescale}" presentationTimeOffset="${l.pto}" startNumber="${l.segments[0]!.sequence}" initialization="${sessionId}/${name}/${l.initFile}" media="${sessionId}/${name}/${SEGMENT_TEMPLATE}">`,
    `          <SegmentTimeline>`,
  ];
  // Consecutive segments of one duration share an S (@r); a gap (segments dropped unstored) restates @t.
  let run: { t: number; d: number; r: number } | null = null;
  const flush = () => run && lines.push(`            <S t="${run.t}" d="${run.d}"${run.r > 0 ? ` r="${run.r}"` : ""}/>`);
  for (const { media: m } of l.segments) {
    if (run && m.duration === run.d && m.decodeTime === run.t + run.d * (run.r + 1)) run.r += 1;
    else {
      flush();
      run = { t: m.decodeTime, d: m.duration, r: 0 };
    }
  }
  flush();
  lines.push(`          </SegmentTimeline>`, `        </SegmentTemplate>`);
  return lines;
}

function end(l: Listed): number {
  const m = l.segments.at(-1)!.media;
  return m.decodeTime + m.duration;
}

/** The highest bitrate of any listed segment, as the HLS master's BANDWIDTH (RFC 8216 4.3.4.2) but per track. */
function bandwidth(l: Listed): number {
  return Math.ceil(Math.max(0, ...l.segments.map(({ media: m }) => (m.bytes * 8 * l.init.timescale) / m.duration)));
}

/** Rates our ladder produces, as DASH writes them (a ratio where the rate is not whole). */
const COMMON_RATES: [string, number][] = [
  ["60", 60], ["60000/1001", 60000 / 1001], ["50", 50], ["30", 30], ["30000/1001", 30000 / 1001], ["25", 25],
  ["24", 24], ["24000/1001", 24000 / 1001], ["15", 15], ["15000/1001", 15000 / 1001], ["25/2", 12.5],
];

/** Frames over the listed time, snapped to the nearest common rate within 1% like the HLS master's. */
function frameRate(l: Listed): string {
  const frames = l.segments.reduce((sum, s) => sum + s.media.samples, 0);
  const units = l.segments.reduce((sum, s) => sum + s.media.duration, 0);
  const measured = (frames * l.init.timescale) / units;
  const [text, rate] = COMMON_RATES.reduce((best, r) => (Math.abs(r[1] - measured) < Math.abs(best[1] - measured) ? r : best));
  if (Math.abs(rate - measured) / rate < 0.01) return text;
  const divisor = gcd(frames * l.init.timescale, units);
  const [num, den] = [(frames * l.init.timescale) / divisor, units / divisor];
  return den === 1 ? String(num) : `${num}/${den}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** xs:duration in seconds, to the millisecond: PT0S, PT2S, PT12.345S. */
function duration(ms: number): string {
  return `PT${Number((ms / 1000).toFixed(3))}S`;
}
