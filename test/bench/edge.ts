/**
 * `npm run bench:edge`: the edge Worker as a live CDN, under a crowd of players.
 *
 * A live stream (3 renditions of real 2 s CMAF segments made once with ffmpeg, replayed in a loop) is
 * written into the Worker's local R2 at real pace, in the uploader's order: a rendition's segment, then
 * the media playlist that names it; the master once every rendition has a segment. Meanwhile VIEWERS
 * simulated players (all in this one Node process, node:http with keep-alive, one connection each, split
 * evenly over the renditions) each poll their rendition's media playlist every second and fetch every
 * segment that is new to them, as hls.js does at a fixed level. The Worker counts its own R2 reads
 * (GET /internal/metrics). The whole run is then repeated with EDGE_CACHE=off (no caches.default, no
 * request collapsing) as the baseline.
 *
 * What is measured: wrangler dev (one workerd isolate) on loopback, through wrangler's dev proxy unless
 * BENCH_PATH=direct (workerd's own socket). Workers Cache, which fronts the Worker in production, is not
 * emulated locally, so every request here runs the Worker.
 *
 * Environment (defaults in brackets): BENCH_VIEWERS [500]  BENCH_SECONDS [30]  BENCH_PATH proxy | direct [proxy]
 *
 * The last line is machine-read:
 *   bench:edge r2_reads_per_segment=<x> baseline_r2_reads_per_segment=<x> rps_ratio=<x>
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { getPlatformProxy, unstable_DevEnv } from "wrangler";
import { randomToken } from "../../scripts/local-config";
import { freePort } from "../helpers/stack";

// Offline: no Request.cf object to fetch, and no warning about it on every start.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const PATH = process.env.BENCH_PATH === "direct" ? "direct" : "proxy";
const SEGMENT_SECONDS = 2;
const WINDOW = 6;
const POLL_MS = 1000;
/** A joining player starts this many segments behind the live edge (hls.js's default). */
const START_BEHIND = 3;
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
  label: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  segmentUrls: number;
  r2: Record<string, number>;
  r2PerSegment: number;
}

async function main(): Promise<void> {
  const renditions = await prepareMedia();
  const sizes = renditions.map((r) => `${r.name} ${Math.round(average(r.segments.map((s) => s.bytes.byteLength)) / 1024)} KiB`);
  console.log(`media: ${renditions[0]!.segments.length} segments of ${SEGMENT_SECONDS} s per rendition (${sizes.join(", ")}), replayed in a loop`);
  console.log(`${VIEWERS} viewers (${Math.round(VIEWERS / renditions.length)} per rendition), ${SECONDS} s per run, via ${PATH === "direct" ? "workerd's own socket" : "wrangler's dev proxy"}`);
  // Players at real pace ask for a fixed rate: a run that keeps up serves about this; only one that does not shows its limit.
  console.log("wrangler dev, one isolate; Workers Cache (production only) is not emulated, so every request runs the Worker");
  console.log(`offered at real pace: about ${Math.round(VIEWERS * (1000 / POLL_MS + 1 / SEGMENT_SECONDS))} requests/s`);
  const cached = await runPhase("cached", "on", renditions);
  const baseline = await runPhase("baseline", "off", renditions);

  const rows = [cached, baseline].map((p) => [
    p.label,
    String(p.requests),
    String(p.errors),
    p.rps.toFixed(0),
    p.p50.toFixed(1),
    p.p99.toFixed(1),
    `${p.r2["media-segment"] ?? 0}/${p.r2["media-playlist"] ?? 0}/${p.r2.other ?? 0}`,
    String(p.segmentUrls),
    p.r2PerSegment.toFixed(2),
  ]);
  printTable(["run", "requests", "errors", "req/s", "p50 ms", "p99 ms", "R2 reads seg/playlist/other", "segment URLs", "R2 reads per segment"], rows);
  console.log(
    `bench:edge r2_reads_per_segment=${cached.r2PerSegment.toFixed(2)} baseline_r2_reads_per_segment=${baseline.r2PerSegment.toFixed(2)} rps_ratio=${(cached.rps / baseline.rps).toFixed(2)}`,
  );
}

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

async function runPhase(label: string, edgeCache: "on" | "off", renditions: Rendition[]): Promise<PhaseResult> {
  const edge = await startEdge(edgeCache);
  const r2 = await getPlatformProxy<{ MEDIA: { put(key: string, body: Uint8Array | string): Promise<unknown> } }>({
    configPath: "wrangler.toml",
    persist: { path: join(edge.stateDir, "v3") },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: VIEWERS + 8 });
  try {
    const streamId = await createStream(edge.apiUrl, edge.adminToken);
    const before = await metrics(edge.apiUrl, edge.ingestSecret);
    const stats = { latencies: [] as number[], errors: 0, segmentUrls: new Set<string>() };
    const started = performance.now();
    const stopAt = started + SECONDS * 1000;
    const publishing = publish(r2.env.MEDIA, streamId, renditions, stopAt);
    await publishing.firstSegment;
    const players = Array.from({ length: VIEWERS }, (_, i) =>
      // Joins spread over the first second, as an audience does not arrive on one tick.
      sleep((i / VIEWERS) * 1000).then(() => play(edge.mediaUrl, agent, `/live/${streamId}/${SESSION}/${renditions[i % renditions.length]!.name}/index.m3u8`, stopAt, stats)),
    );
    await Promise.all([...players, publishing.done]);
    const elapsed = (performance.now() - started) / 1000;
    const after = await metrics(edge.apiUrl, edge.ingestSecret);
    // Counts live in the isolate: if workerd replaced it mid-run, the first one's reads are lost.
    if (after.isolate !== before.isolate) console.warn(`${label}: the Worker's isolate was replaced during the run; its R2 counts are partial`);
    const reads = Object.fromEntries(Object.entries(after.r2ReadsByKind).map(([kind, n]) => [kind, n - (before.r2ReadsByKind[kind] ?? 0)]));
    const sorted = stats.latencies.sort((a, b) => a - b);
    const segmentsRead = reads["media-segment"] ?? 0;
    return {
      label,
      requests: sorted.length,
      errors: stats.errors,
      rps: sorted.length / elapsed,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      segmentUrls: stats.segmentUrls.size,
      r2: { "media-segment": segmentsRead, "media-playlist": reads["media-playlist"] ?? 0, other: (reads["master-playlist"] ?? 0) + (reads["init-segment"] ?? 0) },
      r2PerSegment: segmentsRead / Math.max(1, stats.segmentUrls.size),
    };
  } finally {
    agent.destroy();
    await r2.dispose();
    await edge.stop();
  }
}

/** The uploader's order, at real pace: per rendition the segment, then the playlist naming it; the master after the first round. */
function publish(bucket: { put(key: string, body: Uint8Array | string): Promise<unknown> }, streamId: string, renditions: Rendition[], stopAt: number) {
  let signalFirst!: () => void;
  const firstSegment = new Promise<void>((resolve) => (signalFirst = resolve));
  const done = (async () => {
    const base = (r: Rendition) => `live/${streamId}/${SESSION}/${r.name}`;
    await Promise.all(renditions.map((r) => bucket.put(`${base(r)}/init.mp4`, r.init)));
    const start = performance.now();
    for (let sequence = 1; performance.now() < stopAt; sequence += 1) {
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
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", `#EXT-X-TARGETDURATION:${SEGMENT_SECONDS}`, `#EXT-X-MEDIA-SEQUENCE:${first}`, '#EXT-X-MAP:URI="init.mp4"'];
  for (let n = first; n <= newest; n += 1) {
    lines.push(`#EXTINF:${r.segments[(n - 1) % r.segments.length]!.duration.toFixed(3)},`, `seg-${String(n).padStart(5, "0")}.m4s`);
  }
  return `${lines.join("\n")}\n`;
}

/** One player at a fixed rendition: reload the playlist every second, fetch each segment it has not had. */
async function play(base: string, agent: Agent, playlistPath: string, stopAt: number, stats: { latencies: number[]; errors: number; segmentUrls: Set<string> }) {
  const dir = playlistPath.slice(0, playlistPath.lastIndexOf("/") + 1);
  let newest = -1;
  await get(base, agent, `${dir}init.mp4`, stats);
  while (performance.now() < stopAt) {
    const polled = performance.now();
    const playlist = await get(base, agent, playlistPath, stats);
    const segments = playlist ? [...playlist.toString("utf8").matchAll(/^seg-(\d+)\.m4s$/gm)].map((m) => Number(m[1])) : [];
    const fresh = segments.filter((n) => n > newest).slice(newest < 0 ? -START_BEHIND : 0);
    for (const n of fresh) {
      const path = `${dir}seg-${String(n).padStart(5, "0")}.m4s`;
      stats.segmentUrls.add(path);
      await get(base, agent, path, stats);
      newest = n;
    }
    await sleep(polled + POLL_MS - performance.now());
  }
}

/** The body of a 200 (kept only for playlists: the client must stay lean), else null. */
function get(base: string, agent: Agent, path: string, stats: { latencies: number[]; errors: number }): Promise<Buffer | null> {
  const started = performance.now();
  const keep = path.endsWith(".m3u8");
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => keep && chunks.push(chunk));
      res.on("end", () => {
        stats.latencies.push(performance.now() - started);
        if (res.statusCode !== 200) stats.errors += 1;
        resolve(res.statusCode === 200 ? Buffer.concat(chunks) : null);
      });
    });
    req.on("error", () => {
      stats.errors += 1;
      resolve(null);
    });
    req.end();
  });
}

/** The Worker alone (no ingest node), from wrangler.toml, with fresh persisted state and EDGE_CACHE as asked. */
async function startEdge(edgeCache: "on" | "off") {
  const root = await mkdtemp(join(tmpdir(), "onair-bench-edge-"));
  const stateDir = join(root, "state");
  const adminToken = randomToken();
  const ingestSecret = randomToken();
  const port = await freePort();
  // unstable_startWorker() does not say where workerd itself listens; its runtime announces that on the
  // DevEnv's event bus (needed for BENCH_PATH=direct), shortly after `ready`.
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
  return {
    apiUrl,
    mediaUrl: PATH === "direct" ? await within(10_000, directUrl, "wrangler did not announce workerd's address within 10 s") : apiUrl,
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
const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
