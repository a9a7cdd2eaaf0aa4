/**
 * The web pages alone, in real Chromium: web/dist (built here) served by a small fake of the Worker's
 * routes and JSON API, with live HLS (CMAF, three video renditions and an audio group) produced in real
 * time by ffmpeg. Checks what a viewer sees: offline -> playing by itself via hls.js -> quality switch by
 * height -> stream ended -> a new session plays again; the embed, home, studio and phone layouts.
 *
 * Skipped when Chromium or ffmpeg is missing. About a minute: ffmpeg encodes in real time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Locator } from "playwright-core";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildWeb } from "../../scripts/build-web";
import {
  chromiumAvailable,
  launchBrowser,
  playerState,
  screenshot,
  waitForPlayback,
  waitForPlayerState,
  type BrowserSession,
} from "../helpers/browser";

const ADMIN_TOKEN = "test-admin-token";
const GOOD_TOKEN = "good-playback-token";
/** The watch page's chat panel connects a WebSocket this fake does not serve (chat has its own tests). */
const IGNORE_CHAT = [/WebSocket connection to .*\/chat\b/];
const ffmpegAvailable = spawnSync("ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;

interface FakeStream {
  id: string;
  title: string;
  status: "idle" | "live";
  sessionId: string | null;
  viewers?: number;
  /** Media needs ?token=GOOD_TOKEN (the Worker's signed playback, reduced to one fixed token). */
  signedPlayback?: boolean;
  /** Folder served at /live/<id>/ (the current session's master, variants and poster). */
  mediaDir?: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
  ".m3u8": "application/vnd.apple.mpegurl",
  ".m4s": "video/mp4",
  ".mp4": "video/mp4",
  ".jpg": "image/jpeg",
};

function newId(): string {
  return randomBytes(12).toString("hex").replace(/[^a-z0-9]/g, "").slice(0, 12).padEnd(12, "0");
}

/** A stand-in for the Worker: the page routes, /assets, /live media from disk and the JSON API. */
async function startFakeSite(dist: string): Promise<{ url: string; streams: Map<string, FakeStream>; close(): Promise<void> }> {
  const streams = new Map<string, FakeStream>();
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const info = (s: FakeStream) => ({
    id: s.id,
    title: s.title,
    status: s.status,
    hlsUrl: `${base()}/live/${s.id}/master.m3u8`,
    dashUrl: `${base()}/live/${s.id}/manifest.mpd`,
    watchUrl: `${base()}/watch/${s.id}`,
    renditions: s.status === "live" ? ["720p", "480p", "360p"] : [],
    sessionId: s.sessionId,
    signedPlayback: s.signedPlayback === true,
    ...(s.viewers !== undefined ? { viewers: s.viewers } : {}),
  });
  const send = async (res: http.ServerResponse, file: string, cache = "no-store") => {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return json(res, 404, { error: "not found" });
    res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream", "Content-Length": st.size, "Cache-Control": cache });
    createReadStream(file).pipe(res);
  };
  const json = (res: http.ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    const admin = req.headers.authorization === `Bearer ${ADMIN_TOKEN}`;
    let m: RegExpMatchArray | null;
    if (req.method === "GET" && p === "/") return send(res, path.join(dist, "pages/home.html"));
    if (req.method === "GET" && p === "/studio") return send(res, path.join(dist, "pages/studio.html"));
    if (req.method === "GET" && (m = p.match(/^\/(watch|embed)\/[^/]+$/))) return send(res, path.join(dist, `pages/${m[1]}.html`));
    if (req.method === "GET" && (m = p.match(/^\/assets\/([\w.-]+)$/))) return send(res, path.join(dist, "assets", m[1]!));
    if (req.method === "GET" && (m = p.match(/^\/live\/([a-z0-9]{12})\/([\w./-]+)$/))) {
      const s = streams.get(m[1]!);
      const dir = s?.mediaDir;
      if (!dir || m[2]!.includes("..")) return json(res, 404, { error: "not found" });
      if (s.signedPlayback) {
        if (url.searchParams.get("token") !== GOOD_TOKEN) return json(res, 403, { error: "playback token refused" });
        if (m[2]!.endsWith(".m3u8")) {
          // Like the Worker: carry the token into every URI of the playlist.
          const text = await readFile(path.join(dir, m[2]!), "utf8").catch(() => null);
          if (text === null) return json(res, 404, { error: "not found" });
          const withToken = (uri: string) => `${uri}?token=${GOOD_TOKEN}`;
          const body = text
            .split("\n")
            .map((l) => (l.startsWith("#") ? l.replace(/URI="([^"]*)"/g, (_, u: string) => `URI="${withToken(u)}"`) : l.trim() ? withToken(l.trim()) : l))
            .join("\n");
          res.writeHead(200, { "Content-Type": TYPES[".m3u8"]!, "Cache-Control": "no-store" });
          return res.end(body);
        }
      }
      return send(res, path.join(dir, m[2]!), m[2]!.endsWith(".m4s") ? "public, max-age=3600" : "no-store");
    }
    if (p === "/api/streams" && req.method === "GET") {
      if (url.searchParams.get("status") === "live") {
        return json(res, 200, [...streams.values()].filter((s) => s.status === "live").map((s) => ({ id: s.id, title: s.title, status: s.status, viewers: s.viewers })));
      }
      if (!admin) return json(res, 401, { error: "unauthorized" });
      return json(res, 200, { streams: [...streams.values()].map(info) }); // the Worker's shape
    }
    if (p === "/api/streams" && req.method === "POST") {
      if (!admin) return json(res, 401, { error: "unauthorized" });
      let body = "";
      for await (const chunk of req) body += chunk;
      const title = String((JSON.parse(body) as { title?: unknown }).title ?? "");
      const s: FakeStream = { id: newId(), title, status: "idle", sessionId: null };
      streams.set(s.id, s);
      return json(res, 201, { ...info(s), streamKey: `sk_${randomBytes(20).toString("hex")}`, rtmpUrl: "rtmp://127.0.0.1:1935/live" });
    }
    // The studio's panels: no health figures yet, no recordings (studio-pages.test.ts scripts these).
    if ((m = p.match(/^\/api\/streams\/([^/]+)\/(health|recordings)$/)) && req.method === "GET") {
      const s = streams.get(m[1]!);
      if (!s) return json(res, 404, { error: "not found" });
      if (m[2] === "recordings") return json(res, 200, { recordings: [] });
      if (!admin) return json(res, 401, { error: "unauthorized" });
      return json(res, 200, { status: s.status, sessionId: s.sessionId, health: null });
    }
    if ((m = p.match(/^\/api\/streams\/([^/]+)$/))) {
      const s = streams.get(m[1]!);
      if (req.method === "GET") return s ? json(res, 200, info(s)) : json(res, 404, { error: "not found" });
      if (req.method === "DELETE") {
        if (!admin) return json(res, 401, { error: "unauthorized" });
        streams.delete(m[1]!);
        return json(res, 204);
      }
    }
    return json(res, 404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: base(),
    streams,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** ffmpeg publishing live CMAF HLS (720p/480p/360p + audio group, 2 s segments) into `dir`, in real time. */
function startEncoder(dir: string): ChildProcess {
  // prettier-ignore
  const args = [
    "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-filter_complex", "[0:v]split=3[v1][v2][v3];[v2]scale=-2:480[v2o];[v3]scale=-2:360[v3o]",
    "-map", "[v1]", "-map", "[v2o]", "-map", "[v3o]", "-map", "1:a",
    "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
    "-b:v:0", "2500k", "-b:v:1", "1000k", "-b:v:2", "600k", "-c:a", "aac", "-b:a", "96k",
    "-f", "hls", "-hls_time", "2", "-hls_list_size", "6", "-hls_segment_type", "fmp4",
    "-hls_flags", "delete_segments+independent_segments+program_date_time+temp_file",
    "-master_pl_name", "master.m3u8", "-hls_segment_filename", "%v/seg-%05d.m4s",
    "-var_stream_map", "v:0,agroup:aud,name:720p v:1,agroup:aud,name:480p v:2,agroup:aud,name:360p a:0,agroup:aud,name:audio",
    "%v/index.m3u8",
  ];
  const child = spawn("ffmpeg", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", (d: Buffer) => process.stderr.write(`[ffmpeg] ${d}`));
  return child;
}

/** SIGINT: ffmpeg finishes the open segments and closes every playlist with #EXT-X-ENDLIST. */
async function stopEncoder(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 8000);
  await exited;
  clearTimeout(timer);
}

async function waitForSegments(dir: string, count: number, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const files = await readdir(path.join(dir, "360p")).catch(() => [] as string[]);
    if (existsSync(path.join(dir, "master.m3u8")) && files.filter((f) => f.endsWith(".m4s")).length >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`ffmpeg wrote fewer than ${count} segments in ${timeoutMs} ms`);
}

function makePoster(file: string): void {
  spawnSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360", "-frames:v", "1", file]);
}

/** Polls until `check` passes (playwright-core has no auto-waiting expect; vitest's expect does not wait). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function untilText(locator: Locator, expected: string, timeoutMs = 10_000): Promise<void> {
  let last: string | null = null;
  await until(async () => (last = await locator.first().textContent()) === expected, `text "${expected}"`, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message} (last: ${JSON.stringify(last)})`);
  });
}

/** In-page expressions are strings: this Node tsconfig has no DOM types. */
async function inPage<T>(page: BrowserSession["page"], expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

async function selectQuality(page: BrowserSession["page"], height: number): Promise<void> {
  const select = page.getByLabel("Quality");
  const value = await select.locator("option", { hasText: new RegExp(`^${height}p$`) }).getAttribute("value");
  expect(value).not.toBeNull();
  await select.selectOption(value!);
}

describe.skipIf(!chromiumAvailable() || !ffmpegAvailable)("web pages in Chromium (fake API, ffmpeg live HLS)", () => {
  let site: Awaited<ReturnType<typeof startFakeSite>>;
  let work: string;
  const encoders: ChildProcess[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "onair-web-test-"));
    const { outDir } = await buildWeb(path.join(work, "dist")); // not web/dist: a running stack may serve it
    site = await startFakeSite(outDir);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(encoders.map(stopEncoder));
    await site?.close();
    if (work) await rm(work, { recursive: true, force: true });
  }, 30_000);

  it("watch: offline, then hls.js plays by itself, switches quality by height, ends, and resumes on a new session", async () => {
    const id = newId();
    const session1 = path.join(work, "s1");
    const stream: FakeStream = { id, title: "Test <b>pattern</b>", status: "idle", sessionId: null, mediaDir: session1 };
    site.streams.set(id, stream);
    const b = await launchBrowser({ ignoreErrors: IGNORE_CHAT });
    try {
      const { page } = b;
      await page.goto(`${site.url}/watch/${id}`);
      await waitForPlayerState(page, "offline");
      await untilText(page.locator("#stream-title"), "Test <b>pattern</b>");
      expect(await page.locator("#stream-title b").count()).toBe(0); // text, not markup
      expect(await page.locator("#player [role=status]").textContent()).toContain("offline");
      await screenshot(page, "watch-offline");

      // Go live: encoder first, then the API flips (as the ingest node does after its first segments).
      await mkdir(session1, { recursive: true });
      encoders.push(startEncoder(session1));
      await waitForSegments(session1, 2);
      stream.status = "live";
      stream.sessionId = "session1";
      const evidence = await waitForPlayback(page, { timeoutMs: 30_000 });
      expect(evidence.nonBlank).toBe(true);
      expect(evidence.framesDecoded).toBeGreaterThanOrEqual(20);
      await waitForPlayerState(page, "playing");
      const state = await playerState(page);
      expect(state?.usingHlsJs).toBe(true); // Chromium also plays HLS natively: hls.js must still win
      expect(state?.levels.map((l) => l.height).sort((x, y) => y - x)).toEqual([720, 480, 360]);
      expect(evidence.last.muted).toBe(true); // autoplay is muted...
      expect(await page.locator(".player-unmute").isVisible()).toBe(true); // ...with a way out
      await screenshot(page, "watch-playing");

      // Quality menu: Auto plus each height; choosing one really changes the decoded picture.
      const options = await page.getByLabel("Quality").locator("option").allTextContents();
      expect(options.slice(1)).toEqual(["720p", "480p", "360p"]);
      expect(options[0]).toMatch(/^Auto/);
      await selectQuality(page, 360);
      await page.waitForFunction("document.querySelector('video').videoHeight === 360", undefined, { timeout: 20_000 });
      await selectQuality(page, 720);
      await page.waitForFunction("document.querySelector('video').videoHeight === 720", undefined, { timeout: 20_000 });
      expect((await playerState(page))?.autoLevelEnabled).toBe(false);
      await page.getByLabel("Quality").selectOption("-1");
      expect((await playerState(page))?.autoLevelEnabled).toBe(true);

      // Every control is reachable with the keyboard, in a sensible order.
      await page.locator("body").focus();
      const reached: string[] = [];
      for (let i = 0; i < 25; i++) {
        await page.keyboard.press("Tab");
        reached.push(await inPage<string>(page, "(document.activeElement.getAttribute('aria-label') || document.activeElement.textContent || '').trim().slice(0, 20)"));
      }
      for (const name of ["Unmute", "Pause", "Volume", "Live", "Fullscreen"]) expect(reached).toContain(name);
      expect(reached.some((r) => r.startsWith("Auto"))).toBe(true); // the quality <select>

      // Latency readout and back-to-live.
      const latencyText = await page.locator(".pc-latency").textContent();
      expect(latencyText).toMatch(/^Latency \d+(\.\d)? s$/);
      const latency = (await playerState(page))!.latency!;
      expect(latency).toBeGreaterThan(0);
      expect(latency).toBeLessThan(15);
      await page.getByRole("button", { name: "Pause" }).click();
      await page.waitForTimeout(3000);
      await page.getByRole("button", { name: "Back to live" }).click();
      await page.waitForFunction("!document.querySelector('video').paused", undefined, { timeout: 5000 });
      await untilText(page.locator(".pc-live"), "Live", 15_000);

      // The VLC fields show the absolute HLS and DASH URLs.
      await page.getByText("Watch in VLC or another player").click();
      expect(await page.getByLabel("HLS", { exact: true }).inputValue()).toBe(`${site.url}/live/${id}/master.m3u8`);
      expect(await page.getByLabel("DASH", { exact: true }).inputValue()).toBe(`${site.url}/live/${id}/manifest.mpd`);

      // Unmute works with a click (a user gesture).
      await page.locator(".player-unmute").click();
      expect(await inPage<boolean>(page, "document.querySelector('video').muted")).toBe(false);

      // Stream ends: ffmpeg closes the playlists (#EXT-X-ENDLIST). The API still says live (it may lag):
      // hls.js reaching the end is enough, and the same session is not restarted.
      await stopEncoder(encoders.pop()!);
      await waitForPlayerState(page, "ended", 30_000);
      expect(await page.locator("#stream-badge").textContent()).toBe("Ended");
      await page.waitForTimeout(4000); // two more polls that still say live, session1
      expect((await playerState(page))?.state).toBe("ended");
      stream.status = "idle";
      await screenshot(page, "watch-ended");

      expect(b.errors()).toEqual([]);

      // The streamer comes back: a new session starts playing without a reload. Worst case ordering: the
      // API says live before the encoder has written anything, so the first loads get 404s and the player
      // has to retry by itself.
      const session2 = path.join(work, "s2");
      await mkdir(session2, { recursive: true });
      stream.mediaDir = session2;
      stream.status = "live";
      stream.sessionId = "session2";
      await page.waitForTimeout(4000);
      encoders.push(startEncoder(session2));
      await waitForPlayerState(page, "playing", 40_000);
      const again = await waitForPlayback(page, { timeoutMs: 20_000 });
      expect(again.nonBlank).toBe(true);
      // Chromium logs each 404 as a console error; those playlist 404s are the only errors allowed.
      expect(b.errors().filter((e) => !(/ 404 /.test(e.text) && /\/live\/.*\.m3u8$/.test(e.where)))).toEqual([]);
    } finally {
      await b.close();
    }
  }, 180_000);

  it("embed fills its frame and plays; the phone layout fits the screen", async () => {
    const live = [...site.streams.values()].find((s) => s.status === "live");
    expect(live).toBeDefined();
    const b = await launchBrowser({ viewport: { width: 640, height: 360 } });
    try {
      await b.page.goto(`${site.url}/embed/${live!.id}`);
      await waitForPlayback(b.page);
      const box = await b.page.locator("#player").boundingBox();
      expect(box).toEqual({ x: 0, y: 0, width: 640, height: 360 });
      await screenshot(b.page, "embed-playing");
      expect(b.errors()).toEqual([]);

      // Signed playback: without a token the embed says "Private" and loads no media; a refused token
      // (403) lands there too instead of retrying forever; the right token plays.
      live!.signedPlayback = true;
      await waitForPlayerState(b.page, "restricted", 10_000);
      await b.page.goto(`${site.url}/embed/${live!.id}?token=wrong-token`);
      await waitForPlayerState(b.page, "restricted", 20_000);
      await screenshot(b.page, "embed-restricted");
      await b.page.goto(`${site.url}/embed/${live!.id}?token=${GOOD_TOKEN}`);
      await waitForPlayback(b.page);
      live!.signedPlayback = false;
      const refused = b.errors().filter((e) => / 403 /.test(e.text));
      expect(refused.length).toBeGreaterThan(0); // the wrong token really was sent and refused
      expect(b.errors().filter((e) => !refused.includes(e))).toEqual([]);
    } finally {
      await b.close();
    }
    const phone = await launchBrowser({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
      ignoreErrors: IGNORE_CHAT,
    });
    try {
      await phone.page.goto(`${site.url}/watch/${live!.id}`);
      await waitForPlayback(phone.page);
      const overflow = await inPage<number>(phone.page, "document.documentElement.scrollWidth - window.innerWidth");
      expect(overflow).toBeLessThanOrEqual(0);
      const player = (await phone.page.locator("#player").boundingBox())!;
      const bar = (await phone.page.locator(".player-controls").boundingBox())!;
      expect(player.width).toBe(390);
      expect(bar.y + bar.height).toBeLessThanOrEqual(player.y + player.height + 0.5);
      expect(bar.y).toBeGreaterThanOrEqual(player.y);
      await screenshot(phone.page, "watch-phone");

      // The API says idle while the playlist is still open (the ingest died without closing it): the
      // player plays out what it has buffered, then shows the end.
      live!.status = "idle";
      await waitForPlayerState(phone.page, "ended", 25_000);
      live!.status = "live";
      expect(phone.errors()).toEqual([]);

      // The encoder dies without closing its playlists and the API still says live: after a few seconds
      // without progress the player says it is waiting instead of showing a frozen frame as "live".
      const page = await phone.newPage();
      await page.goto(`${site.url}/watch/${live!.id}`);
      await waitForPlayback(page);
      encoders.pop()!.kill("SIGKILL");
      await waitForPlayerState(page, "reconnecting", 25_000);
      expect(await page.locator(".player-message-title").textContent()).toBe("Reconnecting…");
    } finally {
      await phone.close();
    }
  }, 90_000);

  it("home lists live streams, titles as text, with a fallback thumbnail", async () => {
    for (const s of site.streams.values()) if (s.status !== "live") site.streams.delete(s.id);
    const withPoster = [...site.streams.values()][0]!;
    withPoster.viewers = 1234;
    makePoster(path.join(withPoster.mediaDir!, "poster.jpg"));
    const noPoster: FakeStream = { id: newId(), title: '<img src=x onerror="window.pwned=1">', status: "live", sessionId: "x" };
    site.streams.set(noPoster.id, noPoster);
    const idleId = newId();
    site.streams.set(idleId, { id: idleId, title: "offline one", status: "idle", sessionId: null }); // not listed
    const b = await launchBrowser({ viewport: { width: 1280, height: 720 } });
    try {
      await b.page.goto(site.url);
      await untilText(b.page.locator("#live-summary"), "2 streams are live.");
      const cards = b.page.locator("#live-list > li");
      expect(await cards.count()).toBe(2);
      expect(await b.page.getByText("1.2k watching").isVisible()).toBe(true);
      expect(await b.page.getByRole("link", { name: /onerror/ }).getAttribute("href")).toBe(`/watch/${noPoster.id}`);
      expect(await inPage<unknown>(b.page, "window.pwned")).toBeUndefined();
      const fallback = b.page.locator(`li[data-stream-id="${noPoster.id}"] img`);
      await until(async () => (await fallback.getAttribute("src")) === "/assets/poster.svg", "fallback poster");
      await b.page.waitForFunction("[...document.images].every((i) => i.complete && i.naturalWidth > 0)");
      await screenshot(b.page, "home");
      // The only error is the missing poster the fallback replaced.
      expect(b.errors().filter((e) => !e.where.includes(`/live/${noPoster.id}/poster.jpg`))).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);

  it("studio: token sign-in, create a stream, hidden key with reveal, live preview state, revoke", async () => {
    // The moderation panel joins the chat room, which this fake does not serve.
    const b = await launchBrowser({ viewport: { width: 1400, height: 1000 }, ignoreErrors: IGNORE_CHAT });
    try {
      const { page } = b;
      await page.goto(`${site.url}/studio`);
      await page.getByLabel("Admin token").fill("wrong");
      await page.getByRole("button", { name: "Sign in" }).click();
      await untilText(page.locator("#signin-error"), "That token was not accepted.");
      await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "New stream" }).waitFor();
      expect(await inPage<string>(page, "sessionStorage.getItem('onair.adminToken')")).toBe(ADMIN_TOKEN);

      await page.getByLabel("Title").fill("My first show");
      await page.getByRole("button", { name: "Create stream" }).click();
      await until(() => inPage<boolean>(page, "document.activeElement?.textContent === 'My first show'"), "focus on the new stream's heading");
      const key = page.getByLabel("Stream key");
      expect(await key.getAttribute("type")).toBe("password");
      expect(await key.inputValue()).toMatch(/^sk_[0-9a-f]{40}$/);
      await page.getByRole("button", { name: "Reveal" }).click();
      expect(await key.getAttribute("type")).toBe("text");
      expect(await page.getByLabel("Server").inputValue()).toBe("rtmp://127.0.0.1:1935/live");
      expect(await page.locator(".obs-settings").getByText("Keyframe interval").isVisible()).toBe(true);
      await until(async () => (await page.locator(".preview-player").getAttribute("data-state")) === "offline", "preview offline");
      await screenshot(page, "studio-created", true);

      // A reload keeps the session (sessionStorage) and the selected stream.
      await page.reload();
      await page.getByRole("heading", { name: "My first show" }).waitFor();
      expect(await page.getByLabel("Stream key").inputValue()).toMatch(/^sk_/);

      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await inPage<number>(page, "document.documentElement.scrollWidth - window.innerWidth");
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, "studio-phone", true);

      await page.getByRole("button", { name: "Revoke stream…" }).click();
      await page.getByRole("button", { name: "Yes, revoke it" }).click();
      await untilText(page.locator("#studio-announcer"), "My first show was revoked.");
      expect([...site.streams.values()].some((s) => s.title === "My first show")).toBe(false);
      await page.getByRole("button", { name: "Sign out" }).click();
      expect(await inPage<string | null>(page, "sessionStorage.getItem('onair.adminToken')")).toBeNull();
      // The wrong token's 401 is logged by Chromium as a failed resource; nothing else may be.
      expect(b.errors().filter((e) => !/401/.test(e.text))).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);
});
