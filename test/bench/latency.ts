/**
 * `npm run bench:latency`: how late a live viewer sees the picture, through the whole local stack and
 * through a plain-ffmpeg baseline, in the same run.
 *
 * The publisher is scripts/test-pattern.ts's ffmpeg (720p30, x264 veryfast zerolatency, 2 s keyframes,
 * AAC, RTMP) with one addition: every frame carries the wall-clock time it entered ffmpeg's filter graph
 * (its capture time), drawn as a strip of black and white cells (latency-clock.ts). Both players are hls.js
 * in Debian's Chromium, on one minimal page, with the watch page's own hls.js settings (LIVE_HLS_CONFIG from
 * web/src/player/engine.ts). For every frame put on screen (requestVideoFrameCallback) the page reads the
 * cells from a canvas; glass to glass = the frame's expected display time minus its capture time.
 *
 *   ours      the real local stack (workerd edge + local R2 + ingest node with its ladder): a stream made
 *             through the API, the publisher over RTMP, the player on the stream's master playlist.
 *   baseline  the same publisher command writing HLS itself (fMP4, 2 s segments, 6 listed,
 *             delete_segments) into a folder served by a tiny Node static server (no-cache), same player.
 *
 * Both players join a running stream (once its playlist lists a full live window of 6 segments), play
 * BENCH_WARMUP_SECONDS, then are measured for BENCH_SECONDS. The baseline runs after the stack is stopped.
 *
 * Ingest to edge (ours): for every rendition, the moment the ingest node's ffmpeg lists segment N in its own
 * playlist in the spool (polled every 20 ms; ffmpeg lists a segment once its last frame has left the
 * encoder and the segment is written) to the moment the edge's media playlist lists N (polled every 50 ms
 * throughout, which keeps the edge's playlist cache refreshed as an audience would). The stored numbering is ffmpeg's within one ffmpeg run; equal
 * durations confirm it is the same segment. Once listed at the edge the segment is fetched there once and
 * must answer 200 (the uploader stores segments before the playlists naming them). The edge caches media
 * playlists for 1 s (workers/shared/cache-policy.ts), so this includes what that cache adds. With
 * BENCH_R2_PROBE=on, a reader on the same local R2 (wrangler's platform proxy) notes when the stored
 * playlist lists N, splitting the interval into the ingest node's part and the edge's. It is off by
 * default: each of its reads costs about 0.1 s of CPU on this two-core machine, every 50 ms, on ours only
 * (with it, hls.js stalled once a run and glass to glass rose by about a second). Each moment is
 * the middle of the first read that saw it; read times are printed. Segments 1-2 (start-up) are left out.
 * Also reported: from the capture of each top-rung segment's last frame (decoded from the stored segment)
 * to those moments.
 *
 * Modules: latency-clock.ts (the coded clock), latency-player.ts (the page, its server, one player's
 * measurement), latency-segments.ts (when playlists list segments; a segment's capture time).
 *
 * Environment (defaults in brackets): BENCH_WARMUP_SECONDS [10]  BENCH_SECONDS [20]  BENCH_HLS_CONFIG JSON
 * merged over the watch page's hls.js config, for experiments (printed when set)  BENCH_R2_PROBE [off]
 * BENCH_DUMP=<dir> every frame's and segment's timings as JSON.
 *
 * The last line is machine-read:
 *   bench:latency ingest_to_edge_ms=<x> glass_to_glass_ms=<x> baseline_glass_to_glass_ms=<x>
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { getPlatformProxy } from "wrangler";
import { muxerPlaylistFile, renditionRelativePlaylist } from "../../ingest-node/packager/dash-output";
import { createStream } from "../../scripts/demo-stream";
import { testPatternArgs } from "../../scripts/test-pattern";
import { launchBrowser, type BrowserSession } from "../helpers/browser";
import { startTestStack, waitFor } from "../helpers/stack";
import { clockFilter } from "./latency-clock";
import { measurePlayer, startStaticServer, type PlayerResult } from "./latency-player";
import { lastFrameCapture, median, PlaylistWatch, quantile, Serial, sleep } from "./latency-segments";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
// wrangler logs every request at info level: thousands of lines here (the pollers ask every 50 ms).
process.env.WRANGLER_LOG ??= "warn";

const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const MEASURE_SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** BENCH_DUMP=<dir>: every frame's sample and every segment's timings as JSON, for a closer look */
const DUMP_DIR = process.env.BENCH_DUMP ? resolve(process.env.BENCH_DUMP) : null;
/** BENCH_R2_PROBE=on: a reader on the local R2 too (its reads load the machine ours runs on; see above) */
const R2_PROBE = process.env.BENCH_R2_PROBE === "on";
const HLS_OVERRIDE = process.env.BENCH_HLS_CONFIG ? (JSON.parse(process.env.BENCH_HLS_CONFIG) as Record<string, unknown>) : null;
const SEGMENT_SECONDS = 2;
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
/** segments at or below this number are start-up, not steady state */
const STARTUP_SEGMENTS = 2;
const SPOOL_POLL_MS = 20;
const EDGE_POLL_MS = 50;
/** players join once the playlist lists this many segments (a full live window), as a viewer of a running stream */
const JOIN_AFTER_SEGMENTS = 6;
const MEASURE_WINDOW = { warmupSeconds: WARMUP_SECONDS, measureSeconds: MEASURE_SECONDS, dumpDir: DUMP_DIR };

// ---------------------------------------------------------------------------------------------------------
// Cleanup: every process and server this bench starts is stopped on the way out, also on errors and Ctrl-C.

const cleanups: Array<() => Promise<void>> = [];
/** Registers a cleanup; the returned function runs it now (once) and unregisters it. */
function defer(fn: () => Promise<void> | void): () => Promise<void> {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    const i = cleanups.indexOf(run);
    if (i >= 0) cleanups.splice(i, 1);
    await fn();
  };
  cleanups.push(run);
  return run;
}
/**
 * wrangler (the stack's Worker, the platform proxy) adds SIGINT/SIGTERM handlers that exit the process at
 * once; removing them keeps ours, which stop every process first.
 */
async function withOwnSignalHandlers<T>(start: () => Promise<T>): Promise<T> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  try {
    return await start();
  } finally {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
}
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Runs the cleanups registered since `mark` (cleanups.length then), newest first. */
async function unwindTo(mark: number): Promise<void> {
  while (cleanups.length > mark) await cleanups[cleanups.length - 1]!().catch((error: unknown) => console.error("cleanup:", error));
}
const cleanupAll = () => unwindTo(0);

// ---------------------------------------------------------------------------------------------------------
// The publisher and the baseline encoder.

/** scripts/test-pattern.ts's publisher with the coded clock drawn first (its own human-readable clock stays). */
function publisherArgs(url: string): string[] {
  const args = testPatternArgs({ url, width: WIDTH, height: HEIGHT, fps: FPS, keyframeSeconds: SEGMENT_SECONDS });
  const vf = args.indexOf("-vf");
  if (vf < 0) throw new Error("scripts/test-pattern.ts no longer passes -vf; update bench:latency");
  args[vf + 1] = `${clockFilter(WIDTH, HEIGHT, FPS)},${args[vf + 1]}`;
  return args;
}

/** The same encode, written as HLS by ffmpeg itself instead of sent over RTMP. */
function baselineArgs(dir: string): string[] {
  const args = publisherArgs("rtmp://unused");
  const flv = args.indexOf("flv");
  if (flv < 1 || args[flv - 1] !== "-f") throw new Error("scripts/test-pattern.ts no longer ends with -f flv <url>; update bench:latency");
  return [
    ...args.slice(0, flv - 1),
    "-f", "hls",
    "-hls_time", String(SEGMENT_SECONDS),
    "-hls_list_size", "6",
    "-hls_flags", "delete_segments",
    "-hls_segment_type", "fmp4",
    "-hls_fmp4_init_filename", "init.mp4",
    "-start_number", "1",
    "-hls_segment_filename", join(dir, "seg-%05d.m4s"),
    join(dir, "index.m3u8"),
  ];
}

function startFfmpeg(label: string, args: string[]): { child: ChildProcess; stderr: string[]; stop: () => Promise<void> } {
  const child = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
  const stderr: string[] = [];
  let stopping = false;
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 50) stderr.shift();
  });
  child.once("exit", (code, signal) => {
    if (!stopping) console.error(`${label} ffmpeg exited early (code ${code}, signal ${signal}): ${stderr.join("").slice(-2000)}`);
  });
  const stop = defer(async () => {
    stopping = true;
    await stopChild(child);
  });
  return { child, stderr, stop };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const outcome = await Promise.race([exited.then(() => "exited"), sleep(3000).then(() => "timeout")]);
  if (outcome === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The two runs.

interface SegmentPath {
  /** per rendition (ours): ffmpeg lists segment N in the spool -> the playlist stored in R2 lists it */
  spoolToR2: Map<string, number[]>;
  /** per rendition (ours): the playlist stored in R2 lists N -> the edge's playlist lists it */
  r2ToEdge: Map<string, number[]>;
  /** per rendition (ours): ffmpeg lists N in the spool -> the edge's playlist lists it (ingest to edge) */
  spoolToEdge: Map<string, number[]>;
  /** top rung: capture of the segment's last frame -> ffmpeg lists it */
  captureToListed: number[];
  /** top rung: capture of the segment's last frame -> the edge lists it (ours only) */
  captureToEdge: number[];
  unverified: number;
  segmentErrors: number;
  notes: string[];
  pollMs: { spool: number[]; r2: number[]; edge: number[] };
}

/** Renditions whose newest segment in `from` is not listed in `to` yet. */
function awaited(from: PlaylistWatch, to: PlaylistWatch): string[] {
  const waiting: string[] = [];
  for (const [rendition, listed] of from.listed) {
    if (listed.size === 0) continue;
    if (!to.listed.get(rendition)?.has(Math.max(...listed.keys()))) waiting.push(rendition);
  }
  return waiting;
}

/** Per rendition, ms from `from` first listing each steady-state segment to `to` first listing it. */
function intervals(from: PlaylistWatch, to: PlaylistWatch, counts: { unverified: number }): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [rendition, listed] of from.listed) {
    const deltas: number[] = [];
    for (const [sequence, a] of listed) {
      const b = to.listed.get(rendition)?.get(sequence);
      if (sequence <= STARTUP_SEGMENTS || !b || Number.isNaN(a.at) || Number.isNaN(b.at)) continue;
      // The stored numbering is ffmpeg's within one ffmpeg run; the same duration confirms the same segment.
      if (a.duration !== b.duration) {
        counts.unverified += 1;
        continue;
      }
      deltas.push(b.at - a.at);
    }
    out.set(rendition, deltas);
  }
  return out;
}

interface R2Reader {
  get(key: string): Promise<{ text(): Promise<string> } | null>;
}

async function runOurs(browser: BrowserSession, staticBase: string): Promise<{ player: PlayerResult; path: SegmentPath }> {
  console.log("ours: starting the local stack (workerd edge + local R2 + ingest node)...");
  const mark = cleanups.length;
  const stack = await withOwnSignalHandlers(() => startTestStack());
  defer(() => stack.stop());
  // A reader on the same local R2 (the ingest node stays its only writer): when a stored playlist changes.
  const logLevel = process.env.WRANGLER_LOG;
  // Its warning that the proxy cannot run this Worker's Durable Objects is expected: only R2 is used.
  process.env.WRANGLER_LOG = "error";
  const r2 = R2_PROBE
    ? await withOwnSignalHandlers(() =>
        getPlatformProxy<{ MEDIA: R2Reader }>({ configPath: "wrangler.toml", persist: { path: join(stack.stateDir, "v3") } }),
      ).finally(() => (process.env.WRANGLER_LOG = logLevel))
    : null;
  defer(async () => r2?.dispose());
  try {
    const workDir = join(dirname(stack.stateDir), "ingest");
    const stream = await createStream(stack.edgeUrl, stack.adminToken, "bench:latency");
    const streamDir = join(workDir, stream.id);
    const publisher = startFfmpeg("publisher", publisherArgs(`${stream.rtmpUrl}/${stream.streamKey}`));

    // The ingest node's spool: <workDir>/<stream>/<session>/run-1/media_<n>.m3u8, written by its ffmpeg.
    const found: { session?: string; runDir?: string } = {};
    const notes: string[] = [];
    const spool = new PlaylistWatch(async () => {
      if (!found.session) {
        const sessions = await readdir(streamDir).catch(() => [] as string[]);
        if (sessions.length === 0) return [];
        found.session = sessions[0]!;
        found.runDir = join(streamDir, found.session, "run-1");
      }
      const runDir = found.runDir!;
      const names = await readdir(runDir).catch(() => [] as string[]);
      const runs = await readdir(join(streamDir, found.session)).catch(() => [] as string[]);
      if (runs.some((r) => /^run-([2-9]|\d\d+)$/.test(r)) && !notes.includes("restart")) notes.push("restart");
      // ffmpeg's DASH muxer names its playlists by output stream index; each index is a link to its rendition.
      const streams: { rendition: string; index: number }[] = [];
      for (const name of names.filter((n) => /^\d+$/.test(n))) {
        const rendition = await readlink(join(runDir, name)).catch(() => null);
        if (rendition) streams.push({ rendition, index: Number(name) });
      }
      return streams.map(({ rendition, index }) => ({
        rendition,
        read: async () => renditionRelativePlaylist(await readFile(join(runDir, muxerPlaylistFile(index)), "utf8")),
      }));
    }, SPOOL_POLL_MS);
    const stopSpool = defer(() => spool.stop());

    // R2 and the edge: each rendition's stored media playlist. R2 is read only while a segment the spool
    // listed is not listed there yet (reads through the proxy are slow and cost CPU).
    const key = (rendition: string) => `live/${stream.id}/${found.session}/${rendition}/index.m3u8`;
    const stored: PlaylistWatch = new PlaylistWatch(
      async () =>
        r2 && found.session ? awaited(spool, stored).map((rendition) => ({ rendition, read: async () => (await r2.env.MEDIA.get(key(rendition)))?.text() ?? null })) : [],
      EDGE_POLL_MS,
    );
    const stopStored = defer(() => stored.stop());
    const decodes = new Serial();
    const captures = new Map<number, number>();
    const top = { name: "" };
    let segmentErrors = 0;
    const edgeUrl = (rendition: string, file: string) => `${stack.edgeUrl}/live/${stream.id}/${found.session}/${rendition}/${file}`;
    const edge: PlaylistWatch = new PlaylistWatch(
      // Polled all the time, not only while a segment is awaited: like an audience, the polls keep the edge's
      // 1 s playlist cache refreshed at a phase that has nothing to do with the uploads. (Polling only once
      // ffmpeg had listed a segment would refresh the cache just before each upload and hold the old
      // playlist for a further second: a lone early viewer's worst case, not what an audience sees.)
      async () => (found.session ? [...spool.listed.keys()].map((rendition) => ({ rendition, read: () => fetchText(edgeUrl(rendition, "index.m3u8")) })) : []),
      EDGE_POLL_MS,
      (rendition, sequence, uri) => {
        if (sequence <= STARTUP_SEGMENTS) return;
        decodes.add(async () => {
          // Listed at the edge: it must be fetchable there (the uploader stores segments before playlists).
          const seg = await fetchBytes(edgeUrl(rendition, uri));
          if (!seg) return void (segmentErrors += 1);
          if (rendition !== top.name) return;
          const init = await fetchBytes(edgeUrl(rendition, edge.maps.get(rendition)!));
          const capture = init && (await lastFrameCapture(init, seg, FPS));
          if (capture) captures.set(sequence, capture);
        });
      },
    );
    const stopEdge = defer(() => edge.stop());

    const master = await waitFor(
      "the stream's master playlist at the edge",
      async () => {
        if (publisher.child.exitCode !== null) throw new Error("the publisher exited");
        const res = await fetch(stream.hlsUrl);
        return res.status === 200 ? res.text() : undefined;
      },
      90_000,
      200,
    );
    const ladderLine = stack.ingestLog.find((l) => l.includes("ladder chosen"));
    if (ladderLine) console.log(`ours: ${describeLadder(ladderLine)}`);
    const variants = [...master.matchAll(/^([a-z0-9]+)\/([a-z0-9]+)\/index\.m3u8$/gm)];
    const session = found.session;
    if (variants.length === 0 || !session) throw new Error(`unexpected master playlist or spool:\n${master}`);
    if (variants.some((v) => v[1] !== session)) throw new Error(`the master names session ${variants[0]![1]}, the spool ${session}`);
    top.name = [...new Set(variants.map((v) => v[2]!))].filter((r) => /^\d+p$/.test(r)).sort((a, b) => parseInt(b) - parseInt(a))[0]!;
    console.log(`ours: live; session ${session}, renditions ${[...new Set(variants.map((v) => v[2]))].join(", ")}; edge ${stack.edgeUrl}`);
    // Viewers join a stream that is already running: wait for a full live window, as the baseline does.
    await waitFor("a full live window at the edge", async () => ((edge.listed.get(top.name)?.size ?? 0) >= JOIN_AFTER_SEGMENTS ? true : undefined), 60_000, 100);

    console.log(`ours: playing ${stream.hlsUrl} (${WARMUP_SECONDS} s warm-up, ${MEASURE_SECONDS} s measured)`);
    const player = await measurePlayer(browser, `${staticBase}/player.html?src=${encodeURIComponent(stream.hlsUrl)}`, "ours", MEASURE_WINDOW);
    await stopEdge();
    await stopStored();
    await stopSpool();
    await decodes.drain();
    await publisher.stop();

    if (DUMP_DIR) {
      const byRendition = (w: PlaylistWatch) => Object.fromEntries([...w.listed].map(([r, m]) => [r, Object.fromEntries(m)]));
      const dump = { top: top.name, spool: byRendition(spool), r2: byRendition(stored), edge: byRendition(edge), captures: Object.fromEntries(captures) };
      await writeFile(join(DUMP_DIR, "segments-ours.json"), JSON.stringify(dump));
    }
    const counts = { unverified: 0 };
    const spoolToR2 = intervals(spool, stored, counts);
    const r2ToEdge = intervals(stored, edge, { unverified: 0 });
    const spoolToEdge = intervals(spool, edge, counts);
    const captureToListed: number[] = [];
    const captureToEdge: number[] = [];
    for (const [sequence, capture] of captures) {
      const inSpool = spool.listed.get(top.name)?.get(sequence);
      const atEdge = edge.listed.get(top.name)?.get(sequence);
      if (inSpool && !Number.isNaN(inSpool.at)) captureToListed.push(inSpool.at - capture);
      if (atEdge && !Number.isNaN(atEdge.at)) captureToEdge.push(atEdge.at - capture);
    }
    if (notes.includes("restart")) notes.push("the ingest node's ffmpeg restarted during the run: only its first run's segments are compared");
    // What the ingest node warned about (e.g. shedding rungs on a busy machine) explains odd figures.
    const warnings = new Set<string>();
    for (const line of stack.ingestLog) {
      const entry = (() => {
        try {
          return JSON.parse(line) as { level?: number; msg?: string; ffmpeg?: string };
        } catch {
          return null;
        }
      })();
      if (entry && (entry.level ?? 0) >= 40 && entry.msg) warnings.add(entry.ffmpeg ? `${entry.msg}: ${entry.ffmpeg.replace(/0x[0-9a-f]+/g, "0x…").slice(0, 160)}` : entry.msg);
    }
    for (const warning of [...warnings].slice(0, 8)) notes.push(`the ingest node warned: ${warning}`);
    return {
      player,
      path: {
        spoolToR2,
        r2ToEdge,
        spoolToEdge,
        captureToListed,
        captureToEdge,
        unverified: counts.unverified,
        segmentErrors,
        notes: notes.filter((n) => n !== "restart"),
        pollMs: { spool: spool.readMs, r2: stored.readMs, edge: edge.readMs },
      },
    };
  } finally {
    // pollers, publisher, R2 reader, then the stack
    await unwindTo(mark);
  }
}

async function runBaseline(browser: BrowserSession, staticBase: string, dir: string): Promise<{ player: PlayerResult; path: SegmentPath }> {
  console.log("baseline: plain ffmpeg writing HLS (fMP4, 2 s) into a folder behind a static server...");
  const decodes = new Serial();
  const captures = new Map<number, number>();
  const watch = new PlaylistWatch(
    async () => [{ rendition: "baseline", read: () => readFile(join(dir, "index.m3u8"), "utf8") }],
    SPOOL_POLL_MS,
    (_rendition, sequence, uri) => {
      if (sequence <= STARTUP_SEGMENTS) return;
      decodes.add(async () => {
        const [init, seg] = await Promise.all([readFile(join(dir, "init.mp4")), readFile(join(dir, uri))]);
        const capture = await lastFrameCapture(init, seg, FPS);
        if (capture) captures.set(sequence, capture);
      });
    },
  );
  const stopWatch = defer(() => watch.stop());
  const encoder = startFfmpeg("baseline", baselineArgs(dir));
  try {
    await waitFor("a full live window in the baseline playlist", async () => {
      if (encoder.child.exitCode !== null) throw new Error("the baseline ffmpeg exited");
      return (watch.listed.get("baseline")?.size ?? 0) >= JOIN_AFTER_SEGMENTS ? true : undefined;
    }, 60_000, 100);
    console.log(`baseline: playing ${staticBase}/baseline/index.m3u8 (${WARMUP_SECONDS} s warm-up, ${MEASURE_SECONDS} s measured)`);
    const player = await measurePlayer(browser, `${staticBase}/player.html?src=${encodeURIComponent(`${staticBase}/baseline/index.m3u8`)}`, "baseline", MEASURE_WINDOW);
    await stopWatch();
    await decodes.drain();
    const captureToListed: number[] = [];
    for (const [sequence, capture] of captures) {
      const listed = watch.listed.get("baseline")?.get(sequence);
      if (listed && !Number.isNaN(listed.at)) captureToListed.push(listed.at - capture);
    }
    return {
      player,
      path: {
        spoolToR2: new Map(),
        r2ToEdge: new Map(),
        spoolToEdge: new Map(),
        captureToListed,
        captureToEdge: [],
        unverified: 0,
        segmentErrors: 0,
        notes: [],
        pollMs: { spool: watch.readMs, r2: [], edge: [] },
      },
    };
  } finally {
    await stopWatch();
    await encoder.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const enginePath = new URL("../../web/src/player/engine.ts", import.meta.url).href;
  // Loaded at run time (tsx), not type-checked here: the web code is typed against the DOM, this file is not.
  const { LIVE_HLS_CONFIG } = (await import(enginePath)) as { LIVE_HLS_CONFIG: Record<string, unknown> };
  const hlsConfig = { ...LIVE_HLS_CONFIG, ...HLS_OVERRIDE };
  console.log(`hls.js config: the watch page's LIVE_HLS_CONFIG${HLS_OVERRIDE ? ` with BENCH_HLS_CONFIG=${JSON.stringify(HLS_OVERRIDE)}` : ""}`);
  console.log(`source: ${WIDTH}x${HEIGHT}@${FPS} test pattern with a coded capture clock, x264 veryfast zerolatency 2500k, keyframes every ${SEGMENT_SECONDS} s, AAC`);

  const startLoad = loadavg()[0]!;
  if (DUMP_DIR) await mkdir(DUMP_DIR, { recursive: true });
  const root = await mkdtemp(join(tmpdir(), "onair-bench-latency-"));
  defer(() => rm(root, { recursive: true, force: true }));
  const server = await startStaticServer(root, hlsConfig, { width: WIDTH, height: HEIGHT });
  defer(server.close);
  // (playwright's own Ctrl-C handler would close the browser and exit before the stack is stopped)
  const browser = await withOwnSignalHandlers(() =>
    launchBrowser({ args: ["--autoplay-policy=no-user-gesture-required"], viewport: { width: WIDTH, height: HEIGHT + 80 } }),
  );
  defer(() => browser.close());

  const ours = await runOurs(browser, server.base);
  const baseline = await runBaseline(browser, server.base, root);
  await cleanupAll();

  console.log("");
  console.log(`glass to glass (ms): capture in the publisher's ffmpeg -> expected display time of the frame in Chromium; ${MEASURE_SECONDS} s after ${WARMUP_SECONDS} s of warm-up`);
  const playerRow = (label: string, r: PlayerResult) => [
    label,
    fmt(median(r.g2g)),
    fmt(quantile(r.g2g, 0.9)),
    fmt(Math.min(...r.g2g)),
    fmt(Math.max(...r.g2g)),
    String(r.g2g.length),
    String(r.unreadable),
    `${fmt(r.halves[0])}/${fmt(r.halves[1])}`,
    String(r.stalls),
    fmt(median(r.hlsLatency)),
    fmt(median(r.target)),
    fmt(median(r.edgeLag)),
    `${Math.round(100 * r.catchingUp)}%`,
    [...r.heights].sort((a, b) => b[1] - a[1]).map(([h, n]) => `${h}p ${Math.round((100 * n) / r.frames)}%`).join(" "),
  ];
  printTable(
    ["run", "median", "p90", "min", "max", "frames read", "unreadable", "1st/2nd half", "stalls", "hls.js latency", "its target", "g2g - hls.js latency", "rate > 1", "heights played"],
    [playerRow("ours", ours.player), playerRow("baseline", baseline.player)],
  );
  console.log("(hls.js latency: how far behind its estimate of the live edge it plays; g2g - hls.js latency: how far that estimate trails the capture clock; rate > 1: frames shown while it sped up to catch up)");
  console.log("");
  console.log("segment path, ours (ms, median/p90; segments 1-2 left out as start-up): ffmpeg lists segment N in the spool -> the playlist stored in R2 lists it -> the edge's playlist lists it");
  const cell = (v: number[]) => (v.length === 0 ? "-" : `${fmt(median(v))}/${fmt(quantile(v, 0.9))}`);
  const rows: string[][] = [];
  const renditions = [...ours.path.spoolToEdge.keys()].sort((a, b) => (parseInt(b) || 0) - (parseInt(a) || 0));
  for (const rendition of renditions) {
    const get = (m: Map<string, number[]>) => m.get(rendition) ?? [];
    rows.push([rendition, cell(get(ours.path.spoolToR2)), cell(get(ours.path.r2ToEdge)), cell(get(ours.path.spoolToEdge)), String(get(ours.path.spoolToEdge).length)]);
  }
  const all = (m: Map<string, number[]>) => [...m.values()].flat();
  const allToEdge = all(ours.path.spoolToEdge);
  rows.push(["all", cell(all(ours.path.spoolToR2)), cell(all(ours.path.r2ToEdge)), cell(allToEdge), String(allToEdge.length)]);
  printTable(["rendition", "spool -> R2", "R2 -> edge", "spool -> edge (ingest to edge)", "segments"], rows);
  const polls = ours.path.pollMs;
  console.log(
    `(polled every ${SPOOL_POLL_MS} ms in the spool, every ${EDGE_POLL_MS} ms in R2 and at the edge; one read took median/p90 ${cell(polls.spool)} ms in the spool, ${cell(polls.r2)} ms from R2 through the platform proxy, ${cell(polls.edge)} ms from the edge)`,
  );
  console.log("");
  console.log("from capture (ms, median/p90): the capture time of a segment's last frame, read from the stored segment (top rung; baseline: its only one)");
  printTable(
    ["run", "capture -> listed by ffmpeg", "capture -> listed at the edge", "segments"],
    [
      ["ours", cell(ours.path.captureToListed), cell(ours.path.captureToEdge), String(ours.path.captureToListed.length)],
      ["baseline", cell(baseline.path.captureToListed), `${cell(baseline.path.captureToListed)} (servable once listed)`, String(baseline.path.captureToListed.length)],
    ],
  );
  if (ours.path.unverified > 0) console.log(`ours: ${ours.path.unverified} segment(s) left out: the stored segment of that number had another duration`);
  if (ours.path.segmentErrors > 0) console.log(`ours: ${ours.path.segmentErrors} segment(s) listed at the edge did not answer 200`);
  for (const note of ours.path.notes) console.log(`ours: ${note}`);
  console.log(`load average (1 min) at the start ${startLoad.toFixed(2)}, at the end ${loadavg()[0]!.toFixed(2)} (${cpus().length} cores)`);

  const ingestToEdge = median(allToEdge);
  const g2g = median(ours.player.g2g);
  const baselineG2g = median(baseline.player.g2g);
  console.log("");
  console.log(`goal: ingest to edge <= 1000 ms: ${ingestToEdge <= 1000 ? "met" : "not met"} (${fmt(ingestToEdge)})`);
  console.log(`goal: glass to glass <= 4000 ms and below the baseline: ${g2g <= 4000 && g2g < baselineG2g ? "met" : "not met"} (${fmt(g2g)} vs baseline ${fmt(baselineG2g)})`);
  console.log(`bench:latency ingest_to_edge_ms=${fmt(ingestToEdge)} glass_to_glass_ms=${fmt(g2g)} baseline_glass_to_glass_ms=${fmt(baselineG2g)}`);
}

function describeLadder(line: string): string {
  try {
    const entry = JSON.parse(line) as { ladder?: string[]; source?: unknown; topRung?: string };
    return `ladder ${entry.ladder?.join(", ")} (top rung ${entry.topRung ?? "?"}) from source ${JSON.stringify(entry.source)}`;
  } catch {
    return line;
  }
}

async function fetchText(url: string): Promise<string | null> {
  const res = await fetch(url);
  const text = await res.text();
  return res.status === 200 ? text : null;
}

async function fetchBytes(url: string): Promise<Uint8Array | null> {
  const res = await fetch(url);
  const body = new Uint8Array(await res.arrayBuffer());
  return res.status === 200 ? body : null;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Math.round(x)) : "n/a");


// wrangler's import-time handlers exit at once: ours stop every process first, then run theirs.
for (const signal of SIGNALS) {
  const theirs = process.listeners(signal);
  process.removeAllListeners(signal);
  process.once(signal, () => {
    console.error(`${signal}: stopping everything bench:latency started`);
    process.exitCode = 130;
    void cleanupAll().finally(() => {
      for (const listener of theirs) listener(signal);
      process.exit(130);
    });
  });
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanupAll();
  process.exit(1);
});
