/**
 * `npm run bench:edge`: the edge Worker as a live CDN, under a crowd of players.
 *
 * A live stream (3 renditions of real 2 s CMAF segments made once with ffmpeg, replayed in a loop) is
 * written into the Worker's local R2 at real pace, in the uploader's order: a rendition's segment, then
 * the media playlist that names it; the master once every rendition has a segment. Meanwhile VIEWERS
 * simulated players (all in this one Node process, node:http on one keep-alive agent with a socket per
 * viewer, split evenly over the renditions) load the Worker in two phases, while the stream goes on:
 *
 * - paced (BENCH_SECONDS): each player polls its rendition's media playlist every second and fetches every
 *   segment that is new to it, as hls.js does at a fixed level. Gives R2 reads per segment and the
 *   response times under a real audience's load (which asks for a fixed ~1.5 requests/s per viewer).
 * - capacity (BENCH_CAPACITY_SECONDS): the same players, closed loop: each one's next request leaves as soon
 *   as its previous one is answered, in the player's mix (two media playlist loads per fetch of the newest
 *   segment it lists). Requests answered / duration is what the Worker can serve: requests per second.
 *
 * The Worker counts its own R2 reads (GET /internal/metrics). The whole run is then repeated with
 * EDGE_CACHE=off (no in-isolate hold, no caches.default, no request collapsing) as the baseline;
 * rps_ratio compares the two capacity phases. CPU is accounted per process from /proc (this Node process,
 * i.e. the load generator, and each workerd), because generator and Worker share this machine's cores.
 *
 * What is measured: wrangler dev (one workerd isolate) on loopback, through wrangler's dev proxy unless
 * BENCH_PATH=direct (workerd's own socket). Workers Cache, which fronts the Worker in production, is not
 * emulated locally, so every request here runs the Worker.
 *
 * Environment (defaults in brackets): BENCH_VIEWERS [500]  BENCH_SECONDS [30]  BENCH_CAPACITY_SECONDS [15]
 *   BENCH_PATH proxy | direct [proxy]
 *
 * The last line is machine-read (R2 reads from the paced phase, rps_ratio from the capacity phase):
 *   bench:edge r2_reads_per_segment=<x> baseline_r2_reads_per_segment=<x> rps_ratio=<x>
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { Agent } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { getPlatformProxy, unstable_DevEnv } from "wrangler";
import { randomToken } from "../../scripts/local-config";
import { freePort } from "../helpers/stack";
import { cpuBetween, get, loadAgent, newStats, pidListeningOn, REQUEST_TIMEOUT_MS, sampleCpu, workerdPids, type CpuUse, type LoadStats } from "./edge-load";

// Offline: no Request.cf object to fetch, and no warning about it on every start.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CAPACITY_SECONDS = Number(process.env.BENCH_CAPACITY_SECONDS ?? 15);
const PATH = process.env.BENCH_PATH === "direct" ? "direct" : "proxy";
const SEGMENT_SECONDS = 2;
const WINDOW = 6;
const POLL_MS = 1000;
/** A joining player starts this many segments behind the live edge (hls.js's default). */
const START_BEHIND = 3;
/** The paced player's mix: a playlist load every POLL_MS, a segment every SEGMENT_SECONDS. */
const PLAYLISTS_PER_SEGMENT = (SEGMENT_SECONDS * 1000) / POLL_MS;
const SESSION = "benchsession1";
const RENDITIONS = [
  { name: "720p", size: "1280x720", kbps: 2500 },
  { name: "480p", size: "854x480", kbps: 1000 },
  { name: "360p", size: "640x360", kbps: 600 },
] as const;
const MEDIA_DIR = join(tmpdir(), "onair-bench-edge-media-v1");

interface Rendition {
  name: string;
  init: Uint8Array;
  segments: { bytes: Uint8Array; duration: number }[];
}

interface PhaseResult {
  run: string;
  phase: "paced" | "capacity";
  seconds: number;
  requests: number;
  errors: number;
  playlists: number;
  segments: number;
  rps: number;
  p50: number;
  p99: number;
  segmentUrls: number;
  r2: Record<string, number>;
  r2PerSegment: number;
  cpu: CpuUse;
}

type R2Reads = Record<string, number>;

async function main(): Promise<void> {
  const renditions = await prepareMedia();
  const sizes = renditions.map((r) => `${r.name} ${Math.round(average(r.segments.map((s) => s.bytes.byteLength)) / 1024)} KiB`);
  console.log(`media: ${renditions[0]!.segments.length} segments of ${SEGMENT_SECONDS} s per rendition (${sizes.join(", ")}), replayed in a loop`);
  console.log(
    `${VIEWERS} viewers (${Math.round(VIEWERS / renditions.length)} per rendition), per run ${SECONDS} s paced then ${CAPACITY_SECONDS} s closed loop, via ${PATH === "direct" ? "workerd's own socket" : "wrangler's dev proxy"}`,
  );
  console.log("wrangler dev, one isolate; Workers Cache (production only) is not emulated, so every request runs the Worker");
  // Players at real pace ask for a fixed rate: a run that keeps up serves about this; only the capacity phase shows the limit.
  console.log(`paced phase offers about ${Math.round(VIEWERS * (1000 / POLL_MS + 1 / SEGMENT_SECONDS))} requests/s; the capacity phase asks as fast as answers come`);
  console.log(
    `load generator: this one Node process (node:http, keep-alive, ${VIEWERS + 8} sockets), on the same ${cpus().length} cores as workerd (Worker, dev proxy, R2 writer): CPU below is per process, % of one core`,
  );
  const cached = await runEdge("cached", "on", renditions);
  const baseline = await runEdge("baseline", "off", renditions);
  const phases = [...cached, ...baseline];

  printTable(
    ["run", "phase", "s", "requests", "errors", "playlist/seg", "req/s", "p50 ms", "p99 ms", "R2 reads seg/playlist/other", "new segment URLs", "R2 reads per segment"],
    phases.map((p) => [
      p.run,
      p.phase,
      p.seconds.toFixed(1),
      String(p.requests),
      String(p.errors),
      `${p.playlists}/${p.segments}`,
      p.rps.toFixed(0),
      p.p50.toFixed(1),
      p.p99.toFixed(1),
      `${p.r2["media-segment"] ?? 0}/${p.r2["media-playlist"] ?? 0}/${p.r2.other ?? 0}`,
      String(p.segmentUrls),
      p.r2PerSegment.toFixed(2),
    ]),
  );
  const cores = cpus().length;
  console.log(`CPU, % of one core (machine: all ${cores} cores together, 100% = all busy; other processes: the rest of the machine's use, not this bench's):`);
  printTable(
    ["run", "phase", "generator", "generator loop busy", "workerd Worker", "workerd dev proxy", "workerd R2 writer", "other processes", "machine"],
    phases.map((p) => [
      p.run,
      p.phase,
      percent(p.cpu.generator),
      percent(100 * p.cpu.generatorLoop),
      percent(p.cpu.processes.worker),
      percent(p.cpu.processes.proxy),
      percent(p.cpu.processes.writer),
      percent(otherProcesses(p.cpu)),
      percent(p.cpu.machine),
    ]),
  );
  const [pacedCached, capacityCached] = cached;
  const [pacedBaseline, capacityBaseline] = baseline;
  // Where the capacity phase's CPU went, per answered request (a cheap profile: which process limits it).
  for (const p of [capacityCached, capacityBaseline]) {
    const perRequest = (pct: number | undefined) => (pct === undefined || Number.isNaN(pct) ? "n/a" : `${(((pct / 100) * 1000 * p.seconds) / p.requests).toFixed(2)} ms`);
    console.log(
      `${p.run} capacity, CPU per request: generator ${perRequest(p.cpu.generator)}, workerd Worker ${perRequest(p.cpu.processes.worker)}, dev proxy ${perRequest(p.cpu.processes.proxy)}; limit: ${limitOf(p.cpu)}`,
    );
  }
  const busiestLoop = Math.max(...phases.map((p) => p.cpu.generatorLoop));
  console.log(
    busiestLoop > 0.9
      ? `load generator: event loop busy ${percent(100 * busiestLoop)} of the time at worst: it may be the limit; the figures are a floor`
      : `load generator: event loop busy ${percent(100 * busiestLoop)} of the time at worst, up to ${percent(Math.max(...phases.map((p) => p.cpu.generator)))} of a core: not the limit, but it shares the ${cores} cores with workerd`,
  );
  const others = Math.max(...phases.map((p) => otherProcesses(p.cpu)));
  if (others > 25) console.warn(`WARNING: other processes used up to ${percent(others)} of a core during a phase: this bench's figures are low; run it on a quiet machine`);
  console.log(
    `bench:edge r2_reads_per_segment=${pacedCached.r2PerSegment.toFixed(2)} baseline_r2_reads_per_segment=${pacedBaseline.r2PerSegment.toFixed(2)} rps_ratio=${(capacityCached.rps / capacityBaseline.rps).toFixed(2)}`,
  );
}

/** What held a closed-loop phase back: the Worker's one thread, the machine's cores, or neither (waiting on I/O). */
function limitOf(cpu: CpuUse): string {
  const worker = cpu.processes.worker ?? NaN;
  if (worker >= 90) return `the Worker's workerd at ${percent(worker)} of a core (one isolate, one thread)`;
  const others = otherProcesses(cpu);
  if (cpu.machine >= 90 && others > 25) return `all ${cpus().length} cores busy (${percent(cpu.machine)}), other processes taking ${percent(others)} of a core`;
  if (cpu.machine >= 90) return `all ${cpus().length} cores busy (${percent(cpu.machine)}), shared by workerd and the generator`;
  return `no CPU limit in sight (machine ${percent(cpu.machine)} busy): waiting on I/O or locks`;
}

/** % of one core that processes other than this bench's used meanwhile. */
const otherProcesses = (cpu: CpuUse) => cpus().length * cpu.machine - cpu.generator - sum(Object.values(cpu.processes));

/** Real segments, made once per machine: a noisy test pattern so the encoder spends real bits. */
async function prepareMedia(): Promise<Rendition[]> {
  if (!existsSync(join(MEDIA_DIR, "done"))) {
    await rm(MEDIA_DIR, { recursive: true, force: true });
    await mkdir(MEDIA_DIR, { recursive: true });
    console.log("encoding 20 s of test media with ffmpeg (once)...");
    const split = RENDITIONS.map((_, i) => `[v${i}]`).join("");
    const scales = RENDITIONS.map((r, i) => `[v${i}]scale=${r.size.replace("x", ":")}[s${i}]`).join(";");
    execFileSync("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-nostdin",
      "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t",
      "-t", "20",
      "-filter_complex", `[0:v]split=${RENDITIONS.length}${split};${scales}`,
      ...RENDITIONS.flatMap((_, i) => ["-map", `[s${i}]`]),
      "-c:v", "libx264", "-preset", "veryfast",
      ...RENDITIONS.flatMap((r, i) => [`-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps}k`, `-bufsize:v:${i}`, `${2 * r.kbps}k`]),
      "-force_key_frames", `expr:gte(t,n_forced*${SEGMENT_SECONDS})`, "-sc_threshold", "0",
      "-f", "hls", "-hls_time", String(SEGMENT_SECONDS), "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
      "-start_number", "1", "-hls_segment_filename", join(MEDIA_DIR, "%v", "seg-%05d.m4s"),
      "-var_stream_map", RENDITIONS.map((r, i) => `v:${i},name:${r.name}`).join(" "),
      join(MEDIA_DIR, "%v", "index.m3u8"),
    ]);
    await writeFile(join(MEDIA_DIR, "done"), "");
  }
  return Promise.all(
    RENDITIONS.map(async ({ name }) => {
      const dir = join(MEDIA_DIR, name);
      const playlist = await readFile(join(dir, "index.m3u8"), "utf8");
      const initName = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
      if (!initName) throw new Error(`${dir}/index.m3u8 names no init segment; delete ${MEDIA_DIR} to encode again`);
      const durations = [...playlist.matchAll(/#EXTINF:([\d.]+),\s*\n(seg-\d+\.m4s)/g)];
      const segments = await Promise.all(durations.map(async ([, duration, file]) => ({ bytes: await readBytes(join(dir, file!)), duration: Number(duration) })));
      return { name, init: await readBytes(join(dir, initName)), segments };
    }),
  );
}

/** One Worker (EDGE_CACHE as asked) under both phases, the stream written throughout. */
async function runEdge(run: string, edgeCache: "on" | "off", renditions: Rendition[]): Promise<[PhaseResult, PhaseResult]> {
  const edge = await startEdge(edgeCache);
  const edgePids = workerdPids();
  const r2 = await getPlatformProxy<{ MEDIA: { put(key: string, body: Uint8Array | string): Promise<unknown> } }>({
    configPath: "wrangler.toml",
    persist: { path: join(edge.stateDir, "v3") },
  });
  const watched = {
    worker: pidListeningOn(edge.workerPort, edgePids),
    proxy: pidListeningOn(edge.proxyPort, edgePids),
    writer: workerdPids().find((pid) => !edgePids.includes(pid)),
  };
  const agent = loadAgent(VIEWERS);
  let streaming = true;
  try {
    const streamId = await createStream(edge.apiUrl, edge.adminToken);
    const playlistPath = (i: number) => `/live/${streamId}/${SESSION}/${renditions[i % renditions.length]!.name}/index.m3u8`;
    const metricsNow = () => metrics(edge.apiUrl, edge.ingestSecret);
    const started = performance.now();
    const publishing = publish(r2.env.MEDIA, streamId, renditions, () => streaming);
    await publishing.firstSegment;

    // Paced: players at real pace, joins spread over the first second (an audience does not arrive on one tick).
    const pacedStats = newStats();
    const pacedStop = started + SECONDS * 1000;
    const paced = await measure(run, "paced", metricsNow, watched, pacedStats, started, () =>
      Promise.all(
        Array.from({ length: VIEWERS }, (_, i) => sleep((i / VIEWERS) * 1000).then(() => play(edge.mediaUrl, agent, playlistPath(i), pacedStop, pacedStats))),
      ),
    );

    // Capacity: the same players, closed loop, on the connections they already hold.
    const capacityStart = performance.now();
    const capacityStats = newStats(capacityStart + CAPACITY_SECONDS * 1000);
    // Segments the paced phase already read are still held: per segment counts only those new to this phase.
    capacityStats.seenBefore = pacedStats.segmentUrls;
    const capacity = await measure(run, "capacity", metricsNow, watched, capacityStats, capacityStart, () =>
      Promise.all(Array.from({ length: VIEWERS }, (_, i) => hammer(edge.mediaUrl, agent, playlistPath(i), capacityStats))),
    );
    capacity.rps = capacityStats.counted / CAPACITY_SECONDS;
    streaming = false;
    await publishing.done;
    return [paced, capacity];
  } finally {
    streaming = false;
    agent.destroy();
    await r2.dispose();
    await edge.stop();
  }
}

/** Runs one phase's load and reads what it cost: requests, response times, the Worker's R2 reads, CPU. */
async function measure(
  run: string,
  phase: PhaseResult["phase"],
  metricsNow: () => Promise<{ isolate: string; r2ReadsByKind: R2Reads }>,
  watched: Record<string, number | undefined>,
  stats: LoadStats,
  started: number,
  load: () => Promise<unknown>,
): Promise<PhaseResult> {
  const before = await metricsNow();
  const cpuBefore = sampleCpu(watched);
  await load();
  const cpu = cpuBetween(cpuBefore, sampleCpu(watched));
  const seconds = (performance.now() - started) / 1000;
  const after = await metricsNow();
  // Counts live in the isolate: if workerd replaced it mid-run, the first one's reads are lost.
  if (after.isolate !== before.isolate) console.warn(`${run} ${phase}: the Worker's isolate was replaced during the phase; its R2 counts are partial`);
  console.log(
    `${run} ${phase}: ${stats.latencies.length} answered, ${stats.errors} errors${stats.errors ? ` (${Object.entries(stats.failures).map(([cause, n]) => `${n}x ${cause}`).join(", ")})` : ""}${stats.timeouts ? ` (${stats.timeouts} unanswered after ${REQUEST_TIMEOUT_MS / 1000} s, e.g. ${stats.unanswered.join(", ")})` : ""}${stats.retries ? `, ${stats.retries} sent again after the server closed an idle connection` : ""} in ${seconds.toFixed(1)} s`,
  );
  const reads = Object.fromEntries(Object.entries(after.r2ReadsByKind).map(([kind, n]) => [kind, n - (before.r2ReadsByKind[kind] ?? 0)]));
  const sorted = stats.latencies.sort((a, b) => a - b);
  const segmentsRead = reads["media-segment"] ?? 0;
  const newSegments = [...stats.segmentUrls].filter((url) => !stats.seenBefore.has(url)).length;
  return {
    run,
    phase,
    seconds,
    requests: sorted.length,
    errors: stats.errors,
    playlists: stats.playlists,
    segments: stats.segments,
    rps: sorted.length / seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    segmentUrls: newSegments,
    r2: { "media-segment": segmentsRead, "media-playlist": reads["media-playlist"] ?? 0, other: (reads["master-playlist"] ?? 0) + (reads["init-segment"] ?? 0) },
    r2PerSegment: segmentsRead / Math.max(1, newSegments),
    cpu,
  };
}

/** The uploader's order, at real pace: per rendition the segment, then the playlist naming it; the master after the first round. */
function publish(bucket: { put(key: string, body: Uint8Array | string): Promise<unknown> }, streamId: string, renditions: Rendition[], going: () => boolean) {
  let signalFirst!: () => void;
  const firstSegment = new Promise<void>((resolve) => (signalFirst = resolve));
  const done = (async () => {
    const base = (r: Rendition) => `live/${streamId}/${SESSION}/${r.name}`;
    await Promise.all(renditions.map((r) => bucket.put(`${base(r)}/init-1.mp4`, r.init)));
    const start = performance.now();
    for (let sequence = 1; going(); sequence += 1) {
      await Promise.all(
        renditions.map(async (r) => {
          const source = r.segments[(sequence - 1) % r.segments.length]!;
          await bucket.put(`${base(r)}/seg-${String(sequence).padStart(5, "0")}.m4s`, source.bytes);
          await bucket.put(`${base(r)}/index.m3u8`, mediaPlaylist(r, sequence));
        }),
      );
      if (sequence === 1) {
        const variants = renditions.map((r) => `#EXT-X-STREAM-INF:BANDWIDTH=${RENDITIONS.find((x) => x.name === r.name)!.kbps * 1000}\n${SESSION}/${r.name}/index.m3u8`);
        await bucket.put(`live/${streamId}/master.m3u8`, `#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n${variants.join("\n")}\n`);
        signalFirst();
      }
      await sleep(start + sequence * SEGMENT_SECONDS * 1000 - performance.now());
    }
  })();
  return { firstSegment, done };
}

function mediaPlaylist(r: Rendition, newest: number): string {
  const first = Math.max(1, newest - WINDOW + 1);
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", `#EXT-X-TARGETDURATION:${SEGMENT_SECONDS}`, `#EXT-X-MEDIA-SEQUENCE:${first}`, '#EXT-X-MAP:URI="init-1.mp4"'];
  for (let n = first; n <= newest; n += 1) {
    lines.push(`#EXTINF:${r.segments[(n - 1) % r.segments.length]!.duration.toFixed(3)},`, `seg-${String(n).padStart(5, "0")}.m4s`);
  }
  return `${lines.join("\n")}\n`;
}

/** One player at a fixed rendition: reload the playlist every second, fetch each segment it has not had. */
async function play(base: string, agent: Agent, playlistPath: string, stopAt: number, stats: LoadStats) {
  const dir = playlistPath.slice(0, playlistPath.lastIndexOf("/") + 1);
  let newest = -1;
  await get(base, agent, `${dir}init-1.mp4`, stats);
  while (performance.now() < stopAt) {
    const polled = performance.now();
    const playlist = await get(base, agent, playlistPath, stats);
    const fresh = listedSegments(playlist).filter((n) => n > newest).slice(newest < 0 ? -START_BEHIND : 0);
    for (const n of fresh) {
      const path = segmentPath(dir, n);
      stats.segmentUrls.add(path);
      await get(base, agent, path, stats);
      newest = n;
    }
    await sleep(polled + POLL_MS - performance.now());
  }
}

/**
 * The same player with no pause (closed loop): each request leaves as soon as the previous one is answered,
 * in the paced player's mix: PLAYLISTS_PER_SEGMENT playlist loads, then the newest segment the last one lists.
 */
async function hammer(base: string, agent: Agent, playlistPath: string, stats: LoadStats) {
  const dir = playlistPath.slice(0, playlistPath.lastIndexOf("/") + 1);
  for (let cycle = 1; performance.now() < stats.countUntil; cycle += 1) {
    const playlist = await get(base, agent, playlistPath, stats);
    if (cycle % PLAYLISTS_PER_SEGMENT !== 0) continue;
    const newest = listedSegments(playlist).at(-1);
    if (newest === undefined || performance.now() >= stats.countUntil) continue;
    const path = segmentPath(dir, newest);
    stats.segmentUrls.add(path);
    await get(base, agent, path, stats);
  }
}

const listedSegments = (playlist: Buffer | null) =>
  playlist ? [...playlist.toString("utf8").matchAll(/^seg-(\d+)\.m4s$/gm)].map((m) => Number(m[1])) : [];
const segmentPath = (dir: string, n: number) => `${dir}seg-${String(n).padStart(5, "0")}.m4s`;

/** The Worker alone (no ingest node), from wrangler.toml, with fresh persisted state and EDGE_CACHE as asked. */
async function startEdge(edgeCache: "on" | "off") {
  const root = await mkdtemp(join(tmpdir(), "onair-bench-edge-"));
  const stateDir = join(root, "state");
  const adminToken = randomToken();
  const ingestSecret = randomToken();
  const port = await freePort();
  // unstable_startWorker() does not say where workerd itself listens; its runtime announces that on the
  // DevEnv's event bus (needed for BENCH_PATH=direct, and to tell the Worker's workerd from the dev proxy's),
  // shortly after `ready`.
  const devEnv = new unstable_DevEnv();
  let announce!: (url: string) => void;
  const directUrl = new Promise<string>((resolve) => (announce = resolve));
  const dispatch = devEnv.dispatch.bind(devEnv);
  devEnv.dispatch = (event) => {
    if (event.type === "reloadComplete") {
      const { protocol, hostname, port: userPort } = event.proxyData.userWorkerUrl;
      announce(`${protocol}//${hostname}:${userPort}`);
    }
    dispatch(event);
  };
  const worker = await devEnv.startWorker({
    config: "wrangler.toml",
    bindings: {
      ADMIN_TOKEN: { type: "secret_text", value: adminToken },
      INGEST_SECRET: { type: "secret_text", value: ingestSecret },
      EDGE_CACHE: { type: "plain_text", value: edgeCache },
    },
    dev: { server: { hostname: "127.0.0.1", port }, inspector: false, persist: stateDir, watch: false, logLevel: "warn" },
  });
  await worker.ready;
  const apiUrl = `http://127.0.0.1:${port}`;
  const workerUrl = await within(10_000, directUrl, "wrangler did not announce workerd's address within 10 s");
  return {
    apiUrl,
    mediaUrl: PATH === "direct" ? workerUrl : apiUrl,
    proxyPort: port,
    workerPort: Number(new URL(workerUrl).port),
    stateDir,
    adminToken,
    ingestSecret,
    async stop() {
      await worker.dispose();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function createStream(apiUrl: string, adminToken: string): Promise<string> {
  const res = await fetch(`${apiUrl}/api/streams`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ title: "bench:edge" }),
  });
  if (res.status !== 201) throw new Error(`creating the stream: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function metrics(apiUrl: string, ingestSecret: string): Promise<{ isolate: string; r2ReadsByKind: Record<string, number> }> {
  const res = await fetch(`${apiUrl}/internal/metrics`, { headers: { Authorization: `Bearer ${ingestSecret}` } });
  if (!res.ok) throw new Error(`metrics: ${res.status} ${await res.text()}`);
  return (await res.json()) as { isolate: string; r2ReadsByKind: Record<string, number> };
}

async function readBytes(path: string): Promise<Uint8Array> {
  // getPlatformProxy refuses a Node Buffer as an R2 body (field notes): hand it a plain Uint8Array.
  const buffer = await readFile(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join("  "));
}

async function within<T>(ms: number, promise: Promise<T>, failure: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(failure)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const average = (values: number[]) => sum(values) / values.length;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const percent = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? "n/a" : `${value.toFixed(0)}%`);

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
