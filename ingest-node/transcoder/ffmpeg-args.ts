import { join } from "node:path";
import { TARGET_DURATION_SECONDS } from "../../workers/shared/cache-policy";
import { POSTER_FILE } from "../../workers/shared/layout";
import { formatRational, type Ladder, type Rational, type VideoRendition } from "../ladder/ladder";
import { INIT_SEGMENT_TEMPLATE, MEDIA_SEGMENT_TEMPLATE, MUXER_MANIFEST_FILE, PART_SECONDS } from "../packager/dash-output";
import { ANALYZE_MICROSECONDS } from "../probe/source-probe";
import { X264, type VideoEncoder } from "./encoders";

/**
 * The one ffmpeg command line of a publish, as data: decode the RTMP source once, scale it down rung by
 * rung, encode every rung and the audio once, and write CMAF segments for all of them together, fragment
 * by fragment (packager/dash-output.ts). Pure (no process, no file system), so it is tested byte for
 * byte; transcoder.ts runs it.
 */
export interface TranscodeSpec {
  /** our own RTMP play URL of the publish */
  inputUrl: string;
  /** the session's spool directory: ffmpeg writes <outputDir>/<rendition>/... */
  outputDir: string;
  ladder: Ladder;
  segmentSeconds?: number;
  /** segments a live media playlist lists */
  playlistSize?: number;
  /** x264 unless encoders.ts found a working hardware encoder */
  encoder?: VideoEncoder;
}

export interface FfmpegInvocation {
  inputOptions: string[];
  input: string;
  outputOptions: string[];
  output: string;
  /** warnings these options make ffmpeg print that say nothing is wrong: logged at debug, not warn */
  expectedWarnings: RegExp[];
}

/**
 * What the DASH muxer warns about as a matter of course: streams it has no bitrate for (a copied rung,
 * AAC), once per run; and, once a long stream passes -extra_window_size, each segment it deletes after
 * the uploader has already removed it from the spool (stored), every segment.
 */
const DASH_MUXER_NOISE = [/\bNo bit rate set for stream \d+$/, /\bfailed to delete .*\.m4s: No such file or directory$/];

/** See -extra_window_size: beyond the uploader's spool bound (config.ts) of unstored segments. */
export const MUXER_RETAINED_SEGMENTS = 1000;
/** how often the stream's poster (its thumbnail in listings) is refreshed */
const POSTER_INTERVAL_SECONDS = 10;
/** the live window: enough for players that start three segments behind the edge */
const DEFAULT_PLAYLIST_SIZE = 6;

export function buildFfmpegInvocation(spec: TranscodeSpec): FfmpegInvocation {
  const { ladder, outputDir } = spec;
  const encoder = spec.encoder ?? X264;
  const segmentSeconds = spec.segmentSeconds ?? TARGET_DURATION_SECONDS;
  const { graph, labels } = videoFilterGraph(ladder);

  const inputOptions = [
    // The version banner is noise in our log.
    "-hide_banner",
    // Never read the terminal: a stray "q" on the ingest node's console would end the stream.
    "-nostdin",
    // Warnings go to our log; -stats keeps the progress line (speed=) that the transcoder reports.
    "-loglevel", "warning", "-stats",
    // Same listening time as the probe: the RTMP demuxer always announces audio, even when none comes.
    "-analyzeduration", String(ANALYZE_MICROSECONDS),
  ];

  const outputOptions = [
    // Decode once, then one scaler chain for every encoded rung and the poster (see videoFilterGraph).
    "-filter_complex", graph,
    ...posterOutput(outputDir),

    // Output streams in packager/dash-output.ts's order: the rungs, highest first (a passed-through top
    // rung straight from the input), then the source's audio.
    ...labels.flatMap((label) => ["-map", label]),
    ...(ladder.audio ? ["-map", "0:a:0"] : []),

    // H.264: the one video codec every browser's MSE decodes; a passed-through source's own H.264 is
    // copied as it is (ladder/passthrough.ts decides when).
    ...ladder.video.flatMap((rung, i) => [`-c:v:${i}`, rung.passthrough ? "copy" : encoder.codec]),
    // The encoder's own settings (encoders.ts says why each).
    ...encoder.options,
    // Keyframes at the same instants in every rung, so every rung cuts its segments there and players can
    // switch at any boundary: with a passed-through top rung, exactly where the source has them (at most
    // one segment apart); otherwise one every segment duration.
    "-force_key_frames", ladder.top.passthrough ? "source" : `expr:gte(t,n_forced*${segmentSeconds})`,
    ...ladder.video.flatMap((rung, i) => (rung.passthrough ? [] : rateControl(rung, i))),

    ...(ladder.audio
      ? [
          // Audio is encoded once, as its own rendition, and shared by every video rung.
          "-c:a", "aac",
          "-b:a", `${ladder.audio.kbps}k`,
          // Mono, stereo or 5.1 in: the stereo every browser plays out.
          "-ac", "2",
          // RTMP timestamps are whole milliseconds: taken as they are, the AAC timeline jitters (uneven
          // segment durations, "negative packet duration"). This makes it sample-exact, compensating
          // only for real drift or gaps.
          "-af", "aresample=async=1",
        ]
      : []),

    "-f", "dash",
    // Streaming: each fragment is written to seg-N.m4s.tmp as soon as it is complete, and the file is
    // renamed when the segment is: every fragment is an LL-HLS part the moment it is on disk
    // (packager/part-reader.ts).
    "-streaming", "1",
    // Fragments (parts) of PART_SECONDS; a video fragment ends on a frame boundary at or after it.
    "-frag_type", "duration", "-frag_duration", String(PART_SECONDS),
    // The target duration the edge's cache policy is built around (TARGET_DURATION_SECONDS).
    "-seg_duration", String(segmentSeconds),
    // One media playlist per output stream (media_<n>.m3u8), listing finished segments: the watcher's signal.
    "-hls_playlist", "1",
    "-window_size", String(spec.playlistSize ?? DEFAULT_PLAYLIST_SIZE),
    // The muxer deletes segments this far behind its window. The uploader removes each segment from the
    // spool once stored; this bound only matters when storage is down, and lies beyond the uploader's own
    // spool bound, so the muxer never deletes a segment the uploader still means to store. Without it the
    // muxer keeps every segment's record in memory for the whole stream.
    "-extra_window_size", String(MUXER_RETAINED_SEGMENTS),
    // Segments already written are the uploader's to keep or delete.
    "-remove_at_exit", "0",
    // Video and audio in separate adaptation sets, as separate renditions in the layout.
    "-adaptation_sets", "id=0,streams=v id=1,streams=a",
    // One directory per output stream (a link to the rendition's, packager/dash-output.ts), numbered
    // segments from 1 like the layout's seg-00001.m4s.
    "-init_seg_name", INIT_SEGMENT_TEMPLATE,
    "-media_seg_name", MEDIA_SEGMENT_TEMPLATE,
  ];

  return { inputOptions, input: spec.inputUrl, outputOptions, output: join(outputDir, MUXER_MANIFEST_FILE), expectedWarnings: DASH_MUXER_NOISE };
}

export function toArgv(invocation: FfmpegInvocation): string[] {
  return [...invocation.inputOptions, "-i", invocation.input, ...invocation.outputOptions, invocation.output];
}

/** Each rung's own bitrate, capped VBR (ladder.ts says why). */
function rateControl(rung: VideoRendition, index: number): string[] {
  return [
    `-b:v:${index}`, `${rung.videoKbps}k`,
    `-maxrate:v:${index}`, `${rung.maxrateKbps}k`,
    `-bufsize:v:${index}`, `${rung.bufsizeKbps}k`,
  ];
}

/**
 * One chain from the source down the ladder: each rung is scaled from the rung above it (cheaper than
 * scaling every rung from the source; within 0.0007 SSIM with bicubic, while bilinear and area fail at
 * 360p/144p: field notes), and split off to its encoder. A frame-rate cap is applied where a rung first
 * needs it, so the rungs below scale fewer frames too.
 */
function videoFilterGraph(ladder: Ladder): { graph: string; labels: string[] } {
  const chains: string[] = [];
  const labels: string[] = [];
  let from = "0:v:0";
  // A source that does not say its rate is taken at the ladder's assumed rate (its top rung's).
  let previous = { width: ladder.source.width, height: ladder.source.height, fps: ladder.source.fps ?? ladder.video[0]!.fps };
  ladder.video.forEach((rung, i) => {
    if (rung.passthrough) return void labels.push("0:v:0");
    const filters: string[] = [];
    if (formatRational(rung.fps) !== formatRational(previous.fps)) filters.push(...reduceFps(previous.fps, rung.fps));
    if (rung.width !== previous.width || rung.height !== previous.height) {
      filters.push(`scale=w=${rung.width}:h=${rung.height}:flags=bicubic`);
    }
    const label = `v${i}`;
    const next = `c${i}`;
    const isLast = i === ladder.video.length - 1;
    // The poster is taken from the first encoded rung: already scaled, at most 1080p.
    const outputs = [`[${label}]`, ...(isLast ? [] : [`[${next}]`]), ...(from === "0:v:0" ? ["[poster]"] : [])];
    // Browsers decode 8-bit 4:2:0 H.264 only (a no-op for the usual source), and pinned before the
    // poster's split: the JPEG encoder wants full-range yuvj420p, and without this ffmpeg negotiates that
    // format for the whole chain, so every rung was encoded full range (converted twice, and unlike the
    // source: 0.005-0.009 SSIM lost in bench:transcode).
    if (from === "0:v:0") filters.push("format=yuv420p");
    if (outputs.length > 1) filters.push(`split=${outputs.length}`);
    chains.push(`[${from}]${filters.join(",")}${outputs.join("")}`);
    labels.push(`[${label}]`);
    from = next;
    previous = { width: rung.width, height: rung.height, fps: rung.fps };
  });
  // The first frame, then one every interval; the others are dropped before anything else is done with
  // them (from the source itself when every rung is copied). Not the fps filter: it emits its first frame
  // only seconds of media in, and ffmpeg prints no progress until every output has begun, which would
  // blind the speed monitor to a ladder too slow for the machine for its first tens of seconds.
  const posterEvery = `select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${POSTER_INTERVAL_SECONDS})`;
  chains.push(`[${chains.length > 0 ? "poster" : "0:v:0"}]${posterEvery}[posterout]`);
  return { graph: chains.join(";"), labels };
}

/** A second output: the poster JPEG, overwritten in place (atomically: the uploader may be reading it). */
function posterOutput(outputDir: string): string[] {
  return [
    "-map", "[posterout]",
    // JPEG at quality 4 (of 2-31): a thumbnail, not a frame grab for archiving.
    "-c:v", "mjpeg", "-q:v", "4",
    // Only the selected frames: image2 is a constant-rate muxer, and would otherwise have ffmpeg repeat
    // each poster frame at the source's rate (and encode every copy).
    "-fps_mode", "passthrough",
    // image2 with update: one file, replaced by every new frame, via a temporary file and a rename.
    "-f", "image2", "-update", "1", "-atomic_writing", "1",
    join(outputDir, POSTER_FILE),
  ];
}

/**
 * Keeps every n-th frame by count (select), then fixes the rate (fps) on frames that already fit it. The
 * fps filter alone picks between two frames equally near its tick by their jittered RTMP timestamps and
 * can drop the source's keyframe, which a passed-through top rung cuts its segments at.
 */
function reduceFps(from: Rational, to: Rational): string[] {
  const step = Math.round((from.num * to.den) / (from.den * to.num));
  return [`select=not(mod(n\\,${step}))`, `fps=${formatRational(to)}`];
}
