import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { chooseLadder, formatRational, type Ladder, type VideoRendition } from "../../ingest-node/ladder/ladder";
import { muxerPlaylistFile, outputStreamNames, prepareSpool, renditionRelativePlaylist } from "../../ingest-node/packager/dash-output";
import { probeSource } from "../../ingest-node/probe/source-probe";
import { buildFfmpegInvocation, toArgv } from "../../ingest-node/transcoder/ffmpeg-args";

/**
 * npm run bench:transcode: our ladder (one ffmpeg, one decode, cascaded scaling, the source passed
 * through when it can be) against a naive baseline (one ffmpeg per rung, each decoding the source, plain
 * veryfast), on sources it makes itself. Quality: each rung's SSIM against the source scaled to its size,
 * minus the SSIM of a single-rung veryfast encode (the naive rung) of that size and bitrate.
 */
const run = promisify(execFile);
const SECONDS = 20;

interface Measured {
  wallSeconds: number;
  cpuSeconds: number;
}

/** Runs ffmpeg under bash so that `times` reports its CPU time (user + system). */
async function timedFfmpeg(args: string[]): Promise<Measured> {
  const started = performance.now();
  const child = spawn("bash", ["-c", 'ffmpeg "$@" >/dev/null 2>"$ERRLOG" || { cat "$ERRLOG" >&2; exit 1; }; times', "ffmpeg", ...args], {
    env: { ...process.env, ERRLOG: join(tmpdir(), `bench-ffmpeg-${process.pid}-${Math.random()}.log`) },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`ffmpeg failed: ${err.slice(-500)}`);
  // `times`: the shell's own user/sys, then its children's: "0m12.345s 0m0.678s"
  const children = out.trim().split("\n").at(-1)!.match(/(\d+)m([\d.]+)s/g)!;
  const cpuSeconds = children.reduce((sum, t) => sum + Number(/(\d+)m/.exec(t)![1]) * 60 + Number(/m([\d.]+)s/.exec(t)![1]), 0);
  return { wallSeconds: (performance.now() - started) / 1000, cpuSeconds };
}

async function makeSource(path: string, size: string): Promise<void> {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    // a test pattern with temporal noise: motion and grain, so the encoders have real work
    "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=30,noise=alls=12:allf=t`,
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", String(SECONDS),
    // what OBS sends: H.264 High, 6 Mb/s CBR-ish, a keyframe every 2 s, AAC
    "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
    "-b:v", "6M", "-maxrate", "6M", "-bufsize", "12M", "-x264-params", "keyint=60:min-keyint=60:scenecut=0",
    "-c:a", "aac", "-b:a", "160k",
    path,
  ], { maxBuffer: 1 << 20 });
}

/** One rung on its own from the source: the naive baseline's process, and the quality reference. */
function naiveRungArgs(source: string, rung: VideoRendition, outDir: string, withAudio: boolean): string[] {
  return [
    "-hide_banner", "-nostdin", "-y", "-i", source,
    "-vf", `${rung.reducedFps ? `fps=${formatRational(rung.fps)},` : ""}scale=w=${rung.width}:h=${rung.height}:flags=bicubic`,
    "-c:v", "libx264", "-preset", "veryfast",
    "-b:v", `${rung.videoKbps}k`, "-maxrate", `${rung.maxrateKbps}k`, "-bufsize", `${rung.bufsizeKbps}k`,
    "-force_key_frames", "expr:gte(t,n_forced*2)", "-sc_threshold", "0",
    ...(withAudio ? ["-c:a", "aac", "-b:a", "128k"] : ["-an"]),
    "-f", "hls", "-hls_time", "2", "-hls_segment_type", "fmp4", "-hls_playlist_type", "vod",
    "-hls_segment_filename", join(outDir, "seg-%05d.m4s"), join(outDir, "index.m3u8"),
  ];
}

/** init + every segment in playlist order (ffmpeg's playlist, URIs relative to dir): one fragmented MP4 ffmpeg can read. */
async function joinRendition(dir: string, playlist: string, out: string): Promise<string> {
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!;
  const segments = playlist.split("\n").filter((l) => l.endsWith(".m4s"));
  await writeFile(out, Buffer.concat(await Promise.all([init, ...segments].map((f) => readFile(join(dir, f))))));
  return out;
}

/**
 * SSIM (All) of a rendition against the source scaled (bicubic) and frame-stepped to the same frames.
 * Frames are paired by time, each side's timestamps snapped to the rendition's frame grid: the source's
 * FLV milliseconds (33, 67, 100...) and a rendition's own time base round differently, and pairing by
 * raw timestamps then compares neighbouring frames. Times are taken from each stream's first frame; an
 * encoder may repeat the very first frame (ffmpeg's constant-rate output filling the gap to the stream's
 * start), so the alignment one frame later is tried too: the better of both.
 */
async function ssim(rendition: string, source: string, rung: VideoRendition, sourceFps: number): Promise<number> {
  return Math.max(await ssimShifted(0, rendition, source, rung, sourceFps), await ssimShifted(1, rendition, source, rung, sourceFps));
}

async function ssimShifted(shiftFrames: number, rendition: string, source: string, rung: VideoRendition, sourceFps: number): Promise<number> {
  const fps = rung.fps.num / rung.fps.den;
  const step = Math.round(sourceFps / fps);
  const snap = (shift: number) => `setpts=(round((PTS-STARTPTS)*TB*${fps})-${shift})/(${fps}*TB)`;
  const graph =
    `[0:v]${snap(shiftFrames)}[d];` +
    `[1:v]select=not(mod(n\\,${step})),${snap(0)},scale=w=${rung.width}:h=${rung.height}:flags=bicubic[r];` +
    `[d][r]ssim=shortest=1`;
  const { stderr } = await run("ffmpeg", ["-hide_banner", "-nostdin", "-i", rendition, "-i", source, "-lavfi", graph, "-f", "null", "-"], { maxBuffer: 1 << 24 });
  return Number(/All:([\d.]+)/.exec(stderr)![1]);
}

interface RungResult {
  name: string;
  mode: string;
  ssim: number;
  reference: number;
}

async function bench(dir: string, label: string, size: string) {
  const source = join(dir, `${label}.flv`);
  await makeSource(source, size);
  const info = await probeSource(source);
  const ladder: Ladder = chooseLadder(info);
  const sourceFps = info.fps ? info.fps.num / info.fps.den : 30;

  const ours = join(dir, `${label}-ladder`);
  // playlistSize 0: every segment stays listed, so the quality check sees the whole encode
  await prepareSpool(ours, ladder);
  const ourRun = await timedFfmpeg(["-y", ...toArgv(buildFfmpegInvocation({ inputUrl: source, outputDir: ours, ladder, playlistSize: 0 }))]);
  const ourPlaylist = async (rendition: string) =>
    renditionRelativePlaylist(await readFile(join(ours, muxerPlaylistFile(outputStreamNames(ladder).indexOf(rendition))), "utf8"));

  // Naive: every rung encoded (no passthrough), one process each, all at once as they would run live.
  const naiveLadder = chooseLadder({ ...info, video: undefined });
  const naiveDirs = await Promise.all(naiveLadder.video.map(async (rung) => {
    const d = join(dir, `${label}-naive-${rung.name}`);
    await mkdir(d, { recursive: true });
    return d;
  }));
  const naiveStarted = performance.now();
  const naiveRuns = await Promise.all(naiveLadder.video.map((rung, i) => timedFfmpeg(naiveRungArgs(source, rung, naiveDirs[i]!, i === 0))));
  const naive: Measured = { wallSeconds: (performance.now() - naiveStarted) / 1000, cpuSeconds: naiveRuns.reduce((s, r) => s + r.cpuSeconds, 0) };

  const rungs: RungResult[] = [];
  for (const [i, rung] of ladder.video.entries()) {
    const reference = naiveLadder.video.find((n) => n.width === rung.width && n.height === rung.height)
      ?? naiveLadder.video[i]!;
    const refDir = naiveDirs[naiveLadder.video.indexOf(reference)]!;
    const refPlaylist = await readFile(join(refDir, "index.m3u8"), "utf8");
    const refSsim = await ssim(await joinRendition(refDir, refPlaylist, join(dir, `${label}-ref-${rung.name}.mp4`)), source, reference, sourceFps);
    const ourJoined = await joinRendition(join(ours, rung.name), await ourPlaylist(rung.name), join(dir, `${label}-ours-${rung.name}.mp4`));
    const ourSsim = await ssim(ourJoined, source, rung, sourceFps);
    rungs.push({ name: rung.name, mode: rung.passthrough ? "copy" : "x264", ssim: ourSsim, reference: refSsim });
  }
  return { label, ladder, ours: ourRun, naive, rungs };
}

function table(results: Awaited<ReturnType<typeof bench>>[]): string[] {
  const lines = [
    `transcode benchmark: ${SECONDS} s sources, ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}`,
    "",
    "| source | run | speed | CPU-s per media-s | vs naive |",
    "|---|---|---|---|---|",
  ];
  for (const r of results) {
    const speed = (m: Measured) => (SECONDS / m.wallSeconds).toFixed(2);
    lines.push(`| ${r.label} | ladder (${r.ladder.top.reason}) | ${speed(r.ours)}x | ${(r.ours.cpuSeconds / SECONDS).toFixed(2)} | ${(r.naive.wallSeconds / r.ours.wallSeconds).toFixed(2)}x |`);
    lines.push(`| ${r.label} | naive, ${r.ladder.video.length} processes | ${speed(r.naive)}x | ${(r.naive.cpuSeconds / SECONDS).toFixed(2)} | 1.00x |`);
  }
  lines.push("", "| source | rung | encode | SSIM | reference SSIM | delta |", "|---|---|---|---|---|---|");
  for (const r of results) {
    for (const g of r.rungs) {
      lines.push(`| ${r.label} | ${g.name} | ${g.mode} | ${g.ssim.toFixed(4)} | ${g.reference.toFixed(4)} | ${(g.reference - g.ssim).toFixed(4)} |`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "onair-bench-transcode-"));
  try {
    const results = [await bench(dir, "1080p30", "1920x1080"), await bench(dir, "720p30", "1280x720")];
    for (const line of table(results)) console.log(line);
    const top = results[0]!;
    const worst = Math.max(...results.flatMap((r) => r.rungs.map((g) => g.reference - g.ssim)));
    console.log(
      `bench:transcode speed=${(SECONDS / top.ours.wallSeconds).toFixed(2)} vs_naive=${(top.naive.wallSeconds / top.ours.wallSeconds).toFixed(2)} worst_ssim_delta=${worst.toFixed(4)}`,
    );
  } finally {
    if (process.env.ONAIR_BENCH_KEEP !== "1") await rm(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

await main();
