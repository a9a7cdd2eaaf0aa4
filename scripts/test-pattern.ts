import { spawn, type ChildProcess } from "node:child_process";

/**
 * A publisher like OBS, made of ffmpeg: a test pattern with a burned-in wall clock and a tone, pushed over
 * RTMP in real time. `npm start` uses it for the demo stream; the end-to-end tests and benchmarks use it
 * as their encoder.
 */
export interface TestPatternOptions {
  /** full publish URL: <rtmp server url>/<stream key> */
  url: string;
  width?: number;
  height?: number;
  fps?: number;
  /** stop after this many seconds; omit to run until stopped */
  durationSeconds?: number;
  /** seconds between keyframes, as OBS's "Keyframe Interval" */
  keyframeSeconds?: number;
  audio?: boolean;
}

export function testPatternArgs(o: TestPatternOptions): string[] {
  const { width = 1280, height = 720, fps = 30, keyframeSeconds = 2, audio = true } = o;
  const clock = "drawtext=text='%{localtime\\:%X}':fontsize=" + Math.round(height / 8) +
    ":fontcolor=white:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h-th-20";
  return [
    "-hide_banner", "-loglevel", "error", "-nostdin",
    // -re paces the synthetic source at real time, as a camera would.
    "-re", "-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}`,
    ...(audio ? ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
    ...(o.durationSeconds ? ["-t", String(o.durationSeconds)] : []),
    "-vf", clock,
    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
    "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "5000k",
    // Fixed keyframe interval, as OBS is told to use, so the ingest node may pass the source through.
    "-g", String(fps * keyframeSeconds), "-keyint_min", String(fps * keyframeSeconds), "-sc_threshold", "0",
    ...(audio ? ["-c:a", "aac", "-b:a", "128k", "-ar", "48000"] : []),
    "-f", "flv", o.url,
  ];
}

export function startTestPattern(o: TestPatternOptions): ChildProcess {
  return spawn("ffmpeg", testPatternArgs(o), { stdio: ["ignore", "ignore", "pipe"] });
}
