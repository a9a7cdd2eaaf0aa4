import { once } from "node:events";
import { createRequire } from "node:module";
import { parse, type MpdManifest } from "mpd-parser";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStream, type StreamCredentials } from "../../scripts/demo-stream";
import { cacheControlFor } from "../../workers/shared/cache-policy";
import { dashPath } from "../../workers/shared/layout";
import { launchBrowser, sampleVideo, waitForPlayback, type BrowserSession } from "../helpers/browser";
import { startTestStack, TestPublishers, waitFor, type TestStack } from "../helpers/stack";

/**
 * Issue 3: the live DASH manifest next to the HLS one, played by a real DASH player. dash.js (the
 * DASH-IF reference player, its own dist file, default settings) in Debian's Chromium plays
 * /live/<id>/manifest.mpd from the whole local stack while ffmpeg publishes, then plays on into a second
 * Period when the publisher drops and comes back within the reconnect window, and stops at the end the
 * last MPD announces.
 */
const RECONNECT_WINDOW_SECONDS = 8;
const FIRST_PUBLISH_SECONDS = 30;
const SECOND_PUBLISH_SECONDS = 20;
/** The package's "require" export: its UMD bundle (dist/modern/umd/dash.all.min.js), a global `dashjs`. */
const DASHJS = createRequire(import.meta.url).resolve("dashjs");

/* Browser-side shapes (the Node tsconfig has no DOM lib). */
interface PageVideo {
  currentTime: number;
  videoHeight: number;
  addEventListener(type: string, listener: () => void, options?: { once: boolean }): void;
}
interface PageDashPlayer {
  initialize(view: PageVideo, url: string, autoPlay: boolean): void;
  on(type: string, listener: (e: { error?: unknown; type?: string }) => void): void;
  isDynamic(): boolean;
  getCurrentLiveLatency(): number;
  getTargetLiveDelay(): number;
  getVersion(): string;
}
interface DashProbe {
  errors: string[];
  startedAt: number;
  firstPlayingAt: number | null;
  /** "waiting" events after playback began: stalls */
  stalls: number;
  ended: boolean;
  player: PageDashPlayer;
}
declare const dashjs: { MediaPlayer: { (): { create(): PageDashPlayer }; events: Record<string, string> } };
declare const document: { querySelector(selector: string): PageVideo | null };
declare const window: { dashProbe?: DashProbe };
declare const performance: { now(): number };

describe("live DASH: the MPD at the edge, played by dash.js", () => {
  let stack: TestStack;
  let stream: StreamCredentials;
  let browser: BrowserSession;
  let mpdUrl: string;
  const publishers = new TestPublishers(() => `${stream.rtmpUrl}/${stream.streamKey}`);
  /** every media request the page made, and what it got */
  const responses: { url: string; status: number }[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ ONAIR_RECONNECT_WINDOW_SECONDS: String(RECONNECT_WINDOW_SECONDS) });
    stream = await createStream(stack.edgeUrl, stack.adminToken, "e2e dash");
    mpdUrl = `${stack.edgeUrl}${dashPath(stream.id)}`;
    browser = await launchBrowser();
    browser.page.on("response", (r) => responses.push({ url: r.url(), status: r.status() }));
  });

  afterAll(async () => {
    if (process.env.ONAIR_VERBOSE === "1") console.log(browser?.consoleLog().join("\n"));
    publishers.killAll();
    await browser?.close();
    await stack?.stop();
  });

  const publish = (seconds: number) => publishers.publish(seconds);
  const fetchMpd = async (): Promise<{ text: string; manifest: MpdManifest; headers: Headers } | undefined> => {
    const res = await fetch(mpdUrl);
    if (res.status !== 200) return undefined;
    const text = await res.text();
    return { text, manifest: parse(text, { manifestUri: mpdUrl }), headers: res.headers };
  };
  const periodStarts = (text: string) => [...text.matchAll(/<Period id="[^"]+" start="PT([0-9.]+)S">/g)].map((m) => Number(m[1]));

  it("serves a dynamic MPD naming only segments the edge has, and a clock for players", async () => {
    publish(FIRST_PUBLISH_SECONDS);
    const mpd = await waitFor("the DASH manifest", fetchMpd, 60_000);
    expect(mpd.headers.get("content-type")).toBe("application/dash+xml");
    expect(mpd.headers.get("cache-control")).toBe(cacheControlFor({ kind: "dash-manifest" }));
    expect(mpd.text).toContain(' type="dynamic" ');
    console.log(`MPD: ${mpd.text.length} bytes, ${mpd.text.split("\n").length} lines`);

    const heights = mpd.manifest.playlists.map((p) => p.attributes.RESOLUTION!.height);
    expect(heights.slice(0, 3)).toEqual([720, 480, 360]);
    const audio = Object.values(mpd.manifest.mediaGroups.AUDIO).flatMap((g) => Object.values(g).flatMap((l) => l.playlists));
    expect(audio).toHaveLength(1);
    // Everything the MPD names is there (the newest segment and its init segment of every representation).
    for (const p of [...mpd.manifest.playlists, ...audio]) {
      const last = p.segments.at(-1)!;
      for (const url of [last.resolvedUri, last.map.resolvedUri]) expect((await fetch(url)).status, url).toBe(200);
    }

    const time = await fetch(`${stack.edgeUrl}/api/time`);
    expect(time.headers.get("cache-control")).toBe("no-store");
    expect(Math.abs(Date.parse(await time.text()) - Date.now())).toBeLessThan(2000);
  });

  it("plays in Chromium through dash.js, on the edge's clock", async () => {
    // A viewer who comes once there is more than the presentation delay to play. (One who comes earlier
    // starts at the first Period's start, right at the edge, and waits for every new segment.)
    await waitFor("four segments in the MPD", async () => ((await fetchMpd())?.manifest.playlists[0]!.segments.length ?? 0) >= 4 ? true : undefined, 30_000);
    const started = Date.now();
    await startDashJs(browser.page, mpdUrl);
    const evidence = await waitForPlayback(browser.page, { timeoutMs: 45_000, minAdvanceSeconds: 4, minNewFrames: 60 });
    expect(evidence.nonBlank).toBe(true);
    expect(evidence.last.videoHeight).toBeGreaterThan(0);
    const probe = await dashState(browser.page);
    expect(probe.errors).toEqual([]);
    // On the MPD's timing from the start: no stall once playing.
    expect(probe.stalls).toBe(0);
    expect(probe.dynamic).toBe(true);
    // The MPD's UTCTiming is used, not dash.js's default public time server.
    expect(responses.some((r) => r.url === `${stack.edgeUrl}/api/time` && r.status === 200)).toBe(true);
    expect(responses.filter((r) => !r.url.startsWith(stack.edgeUrl))).toEqual([]);
    console.log(
      `dash.js ${probe.version}: first frame ${probe.startupMs?.toFixed(0)} ms after initialize() (${Date.now() - started} ms to proof of playback), ` +
        `live latency ${probe.latency.toFixed(2)} s (target ${probe.targetDelay} s), ${evidence.framesDecoded} frames over ${evidence.advancedSeconds.toFixed(2)} s`,
    );
    expectNoMissingMedia();
  });

  it("plays on into a new Period when the publisher drops and comes back within the reconnect window", async () => {
    await once(publishers.started[0]!, "exit");
    publish(SECOND_PUBLISH_SECONDS);
    const mpd = await waitFor("a second Period", async () => {
      const m = await fetchMpd();
      return m && periodStarts(m.text).length === 2 ? m : undefined;
    }, 40_000);
    const [, second] = periodStarts(mpd.text);
    // The same session: numbering goes on, and the new run decodes with the same init segments.
    const video = mpd.manifest.playlists[0]!;
    expect(video.discontinuityStarts).toHaveLength(1);
    const numbers = video.segments.map((s) => Number(/seg-(\d+)\.m4s$/.exec(s.uri)![1]));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));

    const crossed = await waitFor("playback in the second Period", async () => {
      const sample = await sampleVideo(browser.page);
      return sample && sample.currentTime > second! + 2 && !sample.paused ? sample : undefined;
    }, 45_000, 500);
    const later = await waitFor("more frames in the second Period", async () => {
      const sample = await sampleVideo(browser.page);
      return sample && sample.totalVideoFrames >= crossed.totalVideoFrames + 60 ? sample : undefined;
    }, 20_000, 500);
    expect(later.currentTime).toBeGreaterThan(crossed.currentTime);
    const state = await dashState(browser.page);
    expect(state.errors).toEqual([]);
    console.log(`into Period 2 (start ${second} s): latency ${state.latency.toFixed(2)} s, ${state.stalls} stalls since the first frame`);
    expectNoMissingMedia();
  });

  it("ends: the last MPD says how long the presentation was, and dash.js plays to that end", async () => {
    await once(publishers.started[1]!, "exit");
    const mpd = await waitFor("the final MPD", async () => {
      const m = await fetchMpd();
      return m && m.text.includes("mediaPresentationDuration") ? m : undefined;
    }, RECONNECT_WINDOW_SECONDS * 1000 + 30_000);
    expect(mpd.text).not.toContain("minimumUpdatePeriod");
    await waitFor("dash.js to reach the end", async () => ((await dashState(browser.page)).ended ? true : undefined), 40_000, 500);
    expect((await dashState(browser.page)).errors).toEqual([]);
    // The bare page's origin has no favicon; media requests are checked on their own below.
    expect(browser.errors().filter((e) => !e.where.endsWith("/favicon.ico"))).toEqual([]);
    expectNoMissingMedia();
  });

  /** The MPD never names what is not stored: no media request the player made failed. */
  function expectNoMissingMedia(): void {
    expect(responses.filter((r) => r.url.includes("/live/") && r.status >= 400)).toEqual([]);
  }
});

/** A bare page on the edge's origin (a page elsewhere may not reach 127.0.0.1) with dash.js's own dist file. */
async function startDashJs(page: Page, url: string): Promise<void> {
  await page.goto(new URL("/healthz", url).href);
  await page.setContent(`<!doctype html><video muted playsinline style="width:640px"></video>`);
  await page.addScriptTag({ path: DASHJS });
  await page.evaluate((mpd) => {
    const video = document.querySelector("video")!;
    const player = dashjs.MediaPlayer().create();
    const probe: DashProbe = { errors: [], startedAt: performance.now(), firstPlayingAt: null, stalls: 0, ended: false, player };
    window.dashProbe = probe;
    const events = dashjs.MediaPlayer.events;
    player.on(events.ERROR!, (e) => probe.errors.push(JSON.stringify(e.error ?? e)));
    player.on(events.PLAYBACK_ERROR!, (e) => probe.errors.push(JSON.stringify(e.error ?? e)));
    player.on(events.PLAYBACK_ENDED!, () => (probe.ended = true));
    video.addEventListener("playing", () => (probe.firstPlayingAt ??= performance.now()));
    video.addEventListener("waiting", () => (probe.stalls += probe.firstPlayingAt === null ? 0 : 1));
    player.initialize(video, mpd, true);
  }, url);
}

interface DashState {
  errors: string[];
  dynamic: boolean;
  ended: boolean;
  startupMs: number | null;
  stalls: number;
  latency: number;
  targetDelay: number;
  version: string;
}

async function dashState(page: Page): Promise<DashState> {
  return page.evaluate(() => {
    const p = window.dashProbe!;
    return {
      errors: p.errors,
      dynamic: p.player.isDynamic(),
      ended: p.ended,
      startupMs: p.firstPlayingAt === null ? null : p.firstPlayingAt - p.startedAt,
      stalls: p.stalls,
      latency: p.player.getCurrentLiveLatency(),
      targetDelay: p.player.getTargetLiveDelay(),
      version: p.player.getVersion(),
    };
  });
}
