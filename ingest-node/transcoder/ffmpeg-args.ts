import { join } from "node:path";
import { TARGET_DURATION_SECONDS } from "../../workers/shared/cache-policy";
import { MASTER_PLAYLIST_FILE, MEDIA_PLAYLIST_FILE } from "../../workers/shared/layout";
import { formatRational, type Ladder, type VideoRendition } from "../ladder/ladder";
import { ANALYZE_MICROSECONDS } from "../probe/source-probe";

/**
 * The one ffmpeg command line of a publish, as data: decode the RTMP source once, scale it down rung by
 * rung, encode every rung and the audio once, and write CMAF HLS for all of them together. Pure (no
 * process, no file system), so it is tested byte for byte; transcoder.ts runs it.
 */
export interface TranscodeSpec {
  /** our own RTMP play URL of the publish */
  inputUrl: string;
  /** the session's spool directory: ffmpeg writes <outputDir>/<rendition>/... and <outputDir>/master.m3u8 */
  outputDir: string;
  ladder: Ladder;
  segmentSeconds?: number;
  /** segments a live media playlist lists */
  playlistSize?: number;
}

export interface FfmpegInvocation {
  inputOptions: string[];
  input: string;
  outputOptions: string[];
  output: string;
}

/** the layout's segment names (seg-00001.m4s) */
const SEGMENT_FILE_TEMPLATE = "seg-%05d.m4s";
/** the live window: enough for players that start three segments behind the edge */
const DEFAULT_PLAYLIST_SIZE = 6;

export function buildFfmpegInvocation(spec: TranscodeSpec): FfmpegInvocation {
  const { ladder, outputDir } = spec;
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
    // Decode once, then one scaler chain for every rung (see videoFilterGraph).
    "-filter_complex", graph,
    // Output streams in var_stream_map order: v:0.. are the rungs, highest first; a:0 the source's audio.
    ...labels.flatMap((label) => ["-map", `[${label}]`]),
    ...(ladder.audio ? ["-map", "0:a:0"] : []),

    // H.264: the one video codec every browser's MSE decodes.
    "-c:v", "libx264",
    // veryfast with a cheaper motion search costs about half of plain veryfast at 1080p/720p for an
    // SSIM loss of at most 0.002 (field notes); x264 threads stay automatic.
    "-preset", "veryfast",
    "-x264-params", "me=dia:subme=1:partitions=i8x8,i4x4:bframes=1:b-adapt=0",
    // A keyframe every segment duration, forced at the same timestamps in every rung, so every rung cuts
    // its segments at the same instants and players can switch rungs at any segment boundary.
    "-force_key_frames", `expr:gte(t,n_forced*${segmentSeconds})`,
    // No extra keyframes at scene cuts: they cost bits and would differ between rungs.
    "-sc_threshold", "0",
    // Closed GOPs: no frame refers across a keyframe, so every segment decodes on its own.
    "-flags", "+cgop",
    ...ladder.video.flatMap((rung, i) => rateControl(rung, i)),

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

    "-f", "hls",
    // The target duration the edge's cache policy is built around (TARGET_DURATION_SECONDS).
    "-hls_time", String(segmentSeconds),
    "-hls_list_size", String(spec.playlistSize ?? DEFAULT_PLAYLIST_SIZE),
    // CMAF (fragmented MP4) segments with one init segment per rendition. With several variants ffmpeg
    // names the init segments init_<n>.mp4; the uploader stores each as the layout's init.mp4.
    "-hls_segment_type", "fmp4",
    // Tells players every segment starts with a keyframe. ffmpeg renames live playlists into place (no
    // half-written playlist), and lists a segment only once it is complete, so temp_file is not needed.
    "-hls_flags", "independent_segments",
    // Segment numbers start at 1 like the layout's seg-00001.m4s; media sequence = segment number.
    "-start_number", "1",
    // One directory per rendition (%v = its name), as in the layout.
    "-hls_segment_filename", join(outputDir, "%v", SEGMENT_FILE_TEMPLATE),
    // ffmpeg writes the master (codecs, resolutions, bandwidths) next to the rendition directories.
    "-master_pl_name", MASTER_PLAYLIST_FILE,
    // Names each rendition (its directory and the layout's rendition name) and ties video to the audio group.
    "-var_stream_map", varStreamMap(ladder),
  ];

  return { inputOptions, input: spec.inputUrl, outputOptions, output: join(outputDir, "%v", MEDIA_PLAYLIST_FILE) };
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
  let previous = { width: ladder.source.width, height: ladder.source.height, fps: "" };
  ladder.video.forEach((rung, i) => {
    const fps = formatRational(rung.fps);
    const filters: string[] = [];
    // Browsers decode 8-bit 4:2:0 H.264 only; a no-op for the usual source.
    if (i === 0) filters.push("format=yuv420p");
    if (rung.reducedFps && fps !== previous.fps) filters.push(`fps=${fps}`);
    if (rung.width !== previous.width || rung.height !== previous.height) {
      filters.push(`scale=w=${rung.width}:h=${rung.height}:flags=bicubic`);
    }
    const label = `v${i}`;
    const next = `c${i}`;
    const isLast = i === ladder.video.length - 1;
    if (!isLast) filters.push("split=2");
    chains.push(`[${from}]${filters.join(",")}[${label}]${isLast ? "" : `[${next}]`}`);
    labels.push(label);
    from = next;
    previous = { width: rung.width, height: rung.height, fps: rung.reducedFps ? fps : previous.fps };
  });
  return { graph: chains.join(";"), labels };
}

/** Names each output stream for its directory; video rungs join the audio group when there is audio. */
function varStreamMap(ladder: Ladder): string {
  const group = ladder.audio ? ",agroup:aud" : "";
  const audio = ladder.audio ? [`a:0${group},name:${ladder.audio.name}`] : [];
  return [...audio, ...ladder.video.map((rung, i) => `v:${i}${group},name:${rung.name}`)].join(" ");
}
