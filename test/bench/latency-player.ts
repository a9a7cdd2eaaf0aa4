/**
 * bench:latency's player: one minimal page with hls.js that reads the coded capture clock (latency-clock.ts)
 * off every frame it puts on screen, the small static server that serves it (and the baseline's HLS folder),
 * and the measurement of one player from the page's samples.
 */
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import type { BrowserSession } from "../helpers/browser";
import { freePort } from "../helpers/stack";
import { BITS, REFERENCE_HEIGHT, REFERENCE_WIDTH, STRIP_HEIGHT, STRIP_WIDTH, STRIP_X, STRIP_Y, decodeClock } from "./latency-clock";
import { median, sleep } from "./latency-segments";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HLS_JS = join(REPO_ROOT, "node_modules/hls.js/dist/hls.min.js");

const PLAYER_HTML = (width: number, height: number) => `<!doctype html>
<html><head><meta charset="utf-8"><title>bench:latency</title></head>
<body style="margin:0;background:#000">
<video id="v" muted autoplay playsinline style="display:block;width:${width}px;height:${height}px"></video>
<script src="/hls.min.js"></script>
<script>
(async () => {
  const bench = { samples: [], stalls: [], errors: [], ready: false };
  window.bench = bench;
  const { hls: config, strip } = await (await fetch("/config.json")).json();
  const video = document.getElementById("v");
  video.muted = true;
  if (!Hls.isSupported()) { bench.errors.push("hls.js is not supported here"); return; }
  const hls = new Hls(config);
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) bench.errors.push(d.type + ": " + d.details); });
  video.addEventListener("waiting", () => { if (bench.ready) bench.stalls.push(performance.timeOrigin + performance.now()); });
  hls.loadSource(new URLSearchParams(location.search).get("src"));
  hls.attachMedia(video);
  video.play().catch(() => {});
  const canvas = document.createElement("canvas");
  canvas.width = 4 * strip.bits;
  canvas.height = 8;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const onFrame = (_now, meta) => {
    const vw = video.videoWidth, vh = video.videoHeight;
    if (vw > 0) {
      bench.ready = true;
      const sx = vw / strip.refWidth, sy = vh / strip.refHeight;
      ctx.drawImage(video, strip.x * sx, strip.y * sy, strip.width * sx, strip.height * sy, 0, 0, canvas.width, canvas.height);
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const cells = [];
      for (let row = 0; row < 2; row++) {
        for (let k = 0; k < strip.bits; k++) {
          let sum = 0;
          for (let dy = 1; dy <= 2; dy++) for (let dx = 1; dx <= 2; dx++) {
            const i = ((row * 4 + dy) * canvas.width + k * 4 + dx) * 4;
            sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
          }
          cells.push(Math.round(sum / 4));
        }
      }
      bench.samples.push({
        shown: performance.timeOrigin + meta.expectedDisplayTime,
        height: vh,
        cells,
        latency: hls.latency,
        target: hls.targetLatency,
        rate: video.playbackRate,
        media: meta.mediaTime,
        ahead: video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0,
      });
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
})().catch((e) => { window.bench = window.bench || { samples: [], stalls: [], errors: [] }; window.bench.errors.push(String(e)); });
</script>
</body></html>
`;

export async function startStaticServer(baselineDir: string, hlsConfig: Record<string, unknown>, picture: { width: number; height: number }): Promise<{ base: string; close: () => Promise<void> }> {
  const configJson = JSON.stringify({
    hls: hlsConfig,
    strip: { bits: BITS, x: STRIP_X, y: STRIP_Y, width: STRIP_WIDTH, height: STRIP_HEIGHT, refWidth: REFERENCE_WIDTH, refHeight: REFERENCE_HEIGHT },
  });
  const hlsJs = await readFile(HLS_JS);
  const html = PLAYER_HTML(picture.width, picture.height);
  const types: Record<string, string> = { m3u8: "application/vnd.apple.mpegurl", m4s: "video/mp4", mp4: "video/mp4" };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const send = (status: number, type: string, body: string | Buffer) => {
      // A plain static server, minus the browser cache: live playlists must never be answered from it.
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-cache", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (path === "/player.html") return send(200, "text/html; charset=utf-8", html);
    if (path === "/hls.min.js") return send(200, "text/javascript", hlsJs);
    if (path === "/config.json") return send(200, "application/json", configJson);
    const file = /^\/baseline\/([A-Za-z0-9_.-]+)$/.exec(path)?.[1];
    if (!file) return send(404, "text/plain", "not found");
    readFile(join(baselineDir, file)).then(
      (body) => send(200, types[file.split(".").pop()!] ?? "application/octet-stream", body),
      () => send(404, "text/plain", "not found"),
    );
  });
  const port = await freePort();
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolvePromise());
  });
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return { base: `http://127.0.0.1:${port}`, close };
}

interface PageSample {
  shown: number;
  height: number;
  cells: number[];
  latency: number;
  target: number | null;
  rate: number;
  /** the frame's media time, and seconds buffered ahead of the playhead */
  media: number;
  ahead: number;
}
interface PageBench {
  samples: PageSample[];
  /** when the video waited for data after it had started */
  stalls: number[];
  errors: string[];
}
declare const window: { bench?: PageBench };

export interface PlayerResult {
  g2g: number[];
  unreadable: number;
  frames: number;
  /** stalls within the measured window */
  stalls: number;
  hlsLatency: number[];
  /** per frame, glass to glass minus hls.js's latency: how far its idea of the live edge trails the capture clock */
  edgeLag: number[];
  target: number[];
  heights: Map<number, number>;
  /** glass to glass in the first and second half of the window: a trend shows a player still converging */
  halves: [number, number];
  /** share of frames shown while hls.js played faster than 1x to catch up with its target */
  catchingUp: number;
}

export interface MeasureWindow {
  warmupSeconds: number;
  measureSeconds: number;
  /** where every frame's sample is written as JSON, if anywhere */
  dumpDir: string | null;
}

/**
 * Opens the player page on `url`, lets it play warmupSeconds from its first frame, then reads glass to
 * glass from every frame of the next measureSeconds.
 */
export async function measurePlayer(browser: BrowserSession, url: string, label: string, window_: MeasureWindow): Promise<PlayerResult> {
  const { warmupSeconds: WARMUP_SECONDS, measureSeconds: MEASURE_SECONDS, dumpDir: DUMP_DIR } = window_;
  const page: Page = await browser.newPage();
  try {
    await page.goto(url);
    const all: PageSample[] = [];
    let first: number | null = null;
    let stalls: number[] = [];
    const startedAt = Date.now();
    for (;;) {
      await sleep(1000);
      const drained = await page.evaluate(() => {
        const b = window.bench;
        if (!b) return null;
        const samples = b.samples;
        b.samples = [];
        return { samples, stalls: b.stalls, errors: b.errors };
      });
      if (drained) {
        if (drained.errors.length > 0) throw new Error(`player: ${drained.errors.join("; ")}\n${browser.consoleLog().slice(-20).join("\n")}`);
        all.push(...drained.samples);
        if (first === null && all.length > 0) first = all[0]!.shown;
        if (first !== null && Date.now() - first > (WARMUP_SECONDS + MEASURE_SECONDS) * 1000 + 500) {
          stalls = drained.stalls;
          break;
        }
      }
      if (first === null && Date.now() - startedAt > 60_000) throw new Error(`no frame played within 60 s\n${browser.consoleLog().slice(-20).join("\n")}`);
    }
    if (DUMP_DIR) {
      const rows = all.map((s) => ({ ...s, cells: undefined, capture: decodeClock(s.cells, s.shown) }));
      await writeFile(join(DUMP_DIR, `frames-${label}.json`), JSON.stringify(rows));
    }
    const from = first! + WARMUP_SECONDS * 1000;
    const to = from + MEASURE_SECONDS * 1000;
    const measured = all.filter((s) => s.shown >= from && s.shown < to);
    const g2g: number[] = [];
    const edgeLag: number[] = [];
    const halves: [number[], number[]] = [[], []];
    let unreadable = 0;
    const heights = new Map<number, number>();
    for (const s of measured) {
      heights.set(s.height, (heights.get(s.height) ?? 0) + 1);
      const capture = decodeClock(s.cells, s.shown);
      if (capture === null) {
        unreadable += 1;
        continue;
      }
      g2g.push(s.shown - capture);
      if (Number.isFinite(s.latency) && s.latency > 0) edgeLag.push(s.shown - capture - s.latency * 1000);
      halves[s.shown < from + (MEASURE_SECONDS * 1000) / 2 ? 0 : 1].push(s.shown - capture);
    }
    return {
      g2g,
      unreadable,
      frames: measured.length,
      stalls: stalls.filter((t) => t >= from && t < to).length,
      hlsLatency: measured.map((s) => s.latency * 1000).filter((x) => Number.isFinite(x) && x > 0),
      edgeLag,
      target: measured.map((s) => (s.target ?? NaN) * 1000).filter(Number.isFinite),
      heights,
      halves: [median(halves[0]), median(halves[1])],
      catchingUp: measured.filter((s) => s.rate > 1).length / Math.max(1, measured.length),
    };
  } finally {
    await page.close().catch(() => undefined);
  }
}
