/**
 * Headless Chromium for tests: Debian's /usr/bin/chromium driven by playwright-core (never a downloaded
 * browser), a fresh profile per launch, console errors collected, and helpers that prove a <video> really
 * plays: time advances, decoded frames grow, and the picture has content (measured from decoded pixels,
 * never from screenshot bytes).
 *
 *   const b = await launchBrowser();
 *   await b.page.goto(`${base}/watch/${id}`);
 *   const evidence = await waitForPlayback(b.page);
 *   await screenshot(b.page, "watch-live");
 *   expect(b.errors()).toEqual([]);
 *   await b.close();
 */
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * --disable-background-networking and friends keep Chromium from trying to reach Google services (on a
 * closed network it floods the log with refused connections); --disable-quic because the stack speaks TCP.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/*
 * The functions handed to page.evaluate run in the browser. This project's Node tsconfig has no DOM lib (so
 * Node code can't use browser globals by mistake); these module-scoped shapes type just what they touch.
 */
interface PageTimeRanges {
  length: number;
  start(i: number): number;
  end(i: number): number;
}
interface PageVideo {
  currentTime: number;
  paused: boolean;
  muted: boolean;
  readyState: number;
  videoWidth: number;
  videoHeight: number;
  buffered: PageTimeRanges;
  getVideoPlaybackQuality?(): { totalVideoFrames: number; droppedVideoFrames: number };
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(
    type: "2d",
    opts?: { willReadFrequently: boolean },
  ): { drawImage(v: PageVideo, x: number, y: number, w: number, h: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface PageHls {
  levels: Array<{ height: number; bitrate: number }>;
  currentLevel: number;
  autoLevelEnabled: boolean;
  latency: number;
  targetLatency: number | null;
}
interface PagePlayerHandle {
  hls: PageHls | null;
  video: PageVideo;
  state: string;
  mode: string | null;
}
declare const document: { querySelector(selector: string): PageVideo | null; createElement(tag: "canvas"): PageCanvas };
declare const window: { onairPlayer?: PagePlayerHandle };

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SCREENSHOT_DIR = path.join(REPO_ROOT, "test-results/screenshots");

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export interface BrowserIssue {
  kind: "console" | "pageerror";
  text: string;
  /** Page URL (console) or script location when known. */
  where: string;
}

export interface BrowserSession {
  context: BrowserContext;
  /** The first page; more with `newPage()`. All pages' errors are collected. */
  page: Page;
  newPage(): Promise<Page>;
  /** console.error messages and uncaught exceptions so far, minus the ignored ones. */
  errors(): BrowserIssue[];
  /** Every console message so far (any level), for debugging a failure. */
  consoleLog(): string[];
  close(): Promise<void>;
}

export interface LaunchOptions {
  viewport?: { width: number; height: number };
  /** Console errors matching any of these are not reported by errors() (e.g. an expected 404). */
  ignoreErrors?: RegExp[];
  /** Extra Chromium switches. */
  args?: string[];
  deviceScaleFactor?: number;
  isMobile?: boolean;
  hasTouch?: boolean;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(path.join(tmpdir(), "onair-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      viewport: options.viewport ?? { width: 1280, height: 800 },
      deviceScaleFactor: options.deviceScaleFactor,
      isMobile: options.isMobile,
      hasTouch: options.hasTouch,
      timeout: 30_000,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const issues: BrowserIssue[] = [];
  const log: string[] = [];
  const watch = (page: Page) => {
    page.on("console", (msg: ConsoleMessage) => {
      const loc = msg.location();
      log.push(`[${msg.type()}] ${msg.text()}${loc.url ? ` (${loc.url}:${loc.lineNumber})` : ""}`);
      if (msg.type() === "error") issues.push({ kind: "console", text: msg.text(), where: loc.url || page.url() });
    });
    page.on("pageerror", (err) => {
      log.push(`[pageerror] ${err.message}`);
      issues.push({ kind: "pageerror", text: err.stack ?? err.message, where: page.url() });
    });
  };
  const watched = new WeakSet<Page>();
  const watchOnce = (page: Page) => {
    if (!watched.has(page)) {
      watched.add(page);
      watch(page);
    }
  };
  context.on("page", watchOnce);
  context.pages().forEach(watchOnce);
  const page = context.pages()[0] ?? (await context.newPage());
  watchOnce(page);
  const ignore = options.ignoreErrors ?? [];
  return {
    context,
    page,
    newPage: () => context.newPage(),
    errors: () => issues.filter((i) => !ignore.some((re) => re.test(i.text))),
    consoleLog: () => [...log],
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** What one look at a <video> says. */
export interface VideoSample {
  currentTime: number;
  paused: boolean;
  muted: boolean;
  readyState: number;
  videoWidth: number;
  videoHeight: number;
  totalVideoFrames: number;
  droppedVideoFrames: number;
  /** Seconds buffered ahead of currentTime. */
  bufferedAhead: number;
}

/** Content of the currently decoded frame, measured from its pixels (drawn to a canvas in the page). */
export interface FrameStats {
  width: number;
  height: number;
  /** Distinct colours after reducing each channel to 5 bits. A black or flat frame has 1-3. */
  distinctColours: number;
  /** Variance of luma (0-255 scale). A flat frame is ~0; a test pattern is in the thousands. */
  lumaVariance: number;
  meanLuma: number;
}

export interface PlaybackEvidence {
  first: VideoSample;
  last: VideoSample;
  /** Seconds of media played between the first and last sample. */
  advancedSeconds: number;
  framesDecoded: number;
  frame: FrameStats;
  nonBlank: boolean;
  elapsedMs: number;
}

export interface WaitForPlaybackOptions {
  /** CSS selector of the video; default "video". */
  selector?: string;
  timeoutMs?: number;
  /** Media seconds that must play after playback first starts. Default 2. */
  minAdvanceSeconds?: number;
  /** Decoded frames that must be added over that time. Default 20. */
  minNewFrames?: number;
  /** Distinct colours (5 bits a channel) a frame needs to count as non-blank. Default 16. */
  minDistinctColours?: number;
}

export async function sampleVideo(page: Page, selector = "video"): Promise<VideoSample | null> {
  return page.evaluate((sel) => {
    const v = document.querySelector(sel);
    if (!v) return null;
    const q = v.getVideoPlaybackQuality?.();
    let bufferedAhead = 0;
    for (let i = 0; i < v.buffered.length; i++) {
      if (v.buffered.start(i) <= v.currentTime + 0.1 && v.buffered.end(i) > v.currentTime) bufferedAhead = v.buffered.end(i) - v.currentTime;
    }
    return {
      currentTime: v.currentTime,
      paused: v.paused,
      muted: v.muted,
      readyState: v.readyState,
      videoWidth: v.videoWidth,
      videoHeight: v.videoHeight,
      totalVideoFrames: q?.totalVideoFrames ?? 0,
      droppedVideoFrames: q?.droppedVideoFrames ?? 0,
      bufferedAhead,
    };
  }, selector);
}

/**
 * Draws the video's current frame into a canvas (scaled to at most 320 px wide) and measures it. Works
 * for same-origin media and MSE (hls.js); a cross-origin native source without CORS taints the canvas and
 * this throws.
 */
export async function measureFrame(page: Page, selector = "video"): Promise<FrameStats> {
  return page.evaluate((sel) => {
    const v = document.querySelector(sel);
    if (!v || v.videoWidth === 0) throw new Error(`no decoded frame in ${sel}`);
    const scale = Math.min(1, 320 / v.videoWidth);
    const w = Math.max(1, Math.round(v.videoWidth * scale));
    const h = Math.max(1, Math.round(v.videoHeight * scale));
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new Error("no 2d canvas context");
    ctx.drawImage(v, 0, 0, w, h);
    const data = ctx.getImageData(0, 0, w, h).data;
    const colours = new Set<number>();
    let sum = 0;
    let sumSq = 0;
    const n = w * h;
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
      colours.add(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3));
      const y = 0.299 * r + 0.587 * g + 0.114 * b;
      sum += y;
      sumSq += y * y;
    }
    const mean = sum / n;
    return { width: w, height: h, distinctColours: colours.size, lumaVariance: sumSq / n - mean * mean, meanLuma: mean };
  }, selector);
}

/**
 * Waits until the video really plays and returns the evidence: currentTime advanced by
 * `minAdvanceSeconds` and `totalVideoFrames` grew by `minNewFrames` after playback began, and the frame on
 * screen is not blank. Throws with the last sample (and the page's console) when that doesn't happen in time.
 */
export async function waitForPlayback(page: Page, options: WaitForPlaybackOptions = {}): Promise<PlaybackEvidence> {
  const selector = options.selector ?? "video";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const minAdvance = options.minAdvanceSeconds ?? 2;
  const minFrames = options.minNewFrames ?? 20;
  const minColours = options.minDistinctColours ?? 16;
  const started = Date.now();
  let first: VideoSample | null = null;
  let last: VideoSample | null = null;
  let frame: FrameStats | null = null;
  while (Date.now() - started < timeoutMs) {
    last = await sampleVideo(page, selector);
    if (last && !first && last.readyState >= 2 && !last.paused && last.currentTime > 0) first = last;
    if (first && last) {
      const advanced = last.currentTime - first.currentTime;
      const frames = last.totalVideoFrames - first.totalVideoFrames;
      if (advanced >= minAdvance && frames >= minFrames) {
        frame = await measureFrame(page, selector);
        const nonBlank = frame.distinctColours >= minColours && frame.lumaVariance > 25;
        if (nonBlank) {
          return { first, last, advancedSeconds: advanced, framesDecoded: frames, frame, nonBlank, elapsedMs: Date.now() - started };
        }
      }
    }
    await page.waitForTimeout(250);
  }
  throw new Error(
    `video ${selector} did not play within ${timeoutMs} ms: first=${JSON.stringify(first)} last=${JSON.stringify(last)} frame=${JSON.stringify(frame)}`,
  );
}

/** Polls a predicate in the page until it is truthy; returns its value. */
export async function waitForValue<T>(page: Page, fn: () => T, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const handle = await page.waitForFunction(fn, undefined, { timeout: timeoutMs, polling: 200 }).catch((err: Error) => {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${err.message.split("\n")[0]}`);
  });
  return (await handle.jsonValue()) as T;
}

/** The state the onair player publishes on `window.onairPlayer` (web/src/player/live-view.ts). */
export interface OnairPlayerState {
  state: string;
  mode: string | null;
  usingHlsJs: boolean;
  levels: Array<{ index: number; height: number; bitrate: number }>;
  currentLevel: number;
  autoLevelEnabled: boolean;
  latency: number | null;
  targetLatency: number | null;
  videoHeight: number;
}

export async function playerState(page: Page): Promise<OnairPlayerState | null> {
  return page.evaluate(() => {
    const p = window.onairPlayer;
    if (!p) return null;
    const hls = p.hls;
    return {
      state: p.state,
      mode: p.mode,
      usingHlsJs: !!hls,
      levels: hls ? hls.levels.map((l, index) => ({ index, height: l.height, bitrate: l.bitrate })) : [],
      currentLevel: hls ? hls.currentLevel : -1,
      autoLevelEnabled: hls ? hls.autoLevelEnabled : true,
      latency: hls ? hls.latency : null,
      targetLatency: hls ? hls.targetLatency : null,
      videoHeight: p.video.videoHeight,
    };
  });
}

/** Waits for the player's view state ("offline", "playing", "ended", ...). */
export async function waitForPlayerState(page: Page, state: string, timeoutMs = 20_000): Promise<void> {
  await page
    .waitForFunction((s) => window.onairPlayer?.state === s, state, {
      timeout: timeoutMs,
      polling: 200,
    })
    .catch(async () => {
      const now = await playerState(page).catch(() => null);
      throw new Error(`player did not reach state "${state}" within ${timeoutMs} ms (now: ${now?.state ?? "no player"})`);
    });
}

/** Saves a PNG of the page to test-results/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^a-zA-Z0-9._-]+/g, "-")}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}
