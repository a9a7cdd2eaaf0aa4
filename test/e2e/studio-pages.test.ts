/**
 * The studio's stream tools in real Chromium, against a scripted stand-in for the Worker (the same
 * approach as web-pages.test.ts): web/dist built here, the JSON API and the chat room's WebSocket played
 * by this file, which records every request the page sends. Checks the ingest health panel (figures and
 * their refresh), chat moderation, the record toggle, the webhook and its one-time secret, key rotation,
 * recordings (played in the page, deleted), and the HLS and DASH URLs on the watch page.
 *
 * Skipped when Chromium or ffmpeg is missing (ffmpeg makes the preview's live stream and a recording).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Locator, Page } from "playwright-core";
import { WebSocketServer, type WebSocket } from "ws";
import { buildWeb } from "../../scripts/build-web";
import type { ChatMessage, ServerMessage } from "../../durable-objects/protocol";
import type { IngestHealth } from "../../workers/shared/ingest-api";
import { chromiumAvailable, launchBrowser, screenshot, waitForPlayback, type BrowserSession } from "../helpers/browser";

const ADMIN_TOKEN = "studio-admin-token";
const ffmpegAvailable = spawnSync("ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;

interface FakeRecording {
  sessionId: string;
  /** path served from the recording folder */
  hlsPath: string;
  durationSeconds: number;
  startedAt: string;
  endedAt: string;
  renditions: string[];
}

interface FakeStream {
  id: string;
  title: string;
  status: "idle" | "live";
  sessionId: string | null;
  viewers: number;
  signedPlayback: boolean;
  record: boolean;
  webhookUrl: string | null;
  /** served at /live/<id>/ */
  mediaDir?: string;
  health: IngestHealth | null;
  recordings: FakeRecording[];
  chat: ChatMessage[];
  slowMode: number;
  banned: Set<string>;
  sockets: Set<WebSocket>;
}

interface SeenRequest {
  method: string;
  path: string;
  body: unknown;
  admin: boolean;
  at: number;
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
};

function newId(): string {
  return randomBytes(12).toString("hex").replace(/[^a-z0-9]/g, "").slice(0, 12).padEnd(12, "0");
}

function o0(body: unknown): Record<string, unknown> {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
}

function newStream(title: string, extra: Partial<FakeStream> = {}): FakeStream {
  return {
    id: newId(),
    title,
    status: "idle",
    sessionId: null,
    viewers: 0,
    signedPlayback: false,
    record: false,
    webhookUrl: null,
    health: null,
    recordings: [],
    chat: [],
    slowMode: 0,
    banned: new Set(),
    sockets: new Set(),
    ...extra,
  };
}

/** The Worker's routes as the studio and watch page use them, scripted. */
async function startFakeSite(dist: string, recordingDir: string) {
  const streams = new Map<string, FakeStream>();
  const requests: SeenRequest[] = [];
  /** "METHOD path" -> one scripted failure: [status, error] */
  const failNext = new Map<string, [number, string]>();
  const keys: string[] = [];
  const secrets: string[] = [];
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const publicView = (s: FakeStream) => ({
    id: s.id,
    title: s.title,
    status: s.status,
    hlsUrl: `${base()}/live/${s.id}/master.m3u8`,
    dashUrl: `${base()}/live/${s.id}/manifest.mpd`,
    watchUrl: `${base()}/watch/${s.id}`,
    renditions: s.status === "live" ? ["360p"] : [],
    sessionId: s.sessionId,
    signedPlayback: s.signedPlayback,
    record: s.record,
    viewers: s.viewers,
  });
  const adminView = (s: FakeStream) => ({ ...publicView(s), webhookUrl: s.webhookUrl, createdAt: "2026-07-01T10:00:00.000Z", revoked: false });
  const json = (res: http.ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const send = async (res: http.ServerResponse, file: string) => {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return json(res, 404, { error: "not found" });
    res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream", "Content-Length": st.size, "Cache-Control": "no-store" });
    createReadStream(file).pipe(res);
  };
  const broadcast = (s: FakeStream, message: ServerMessage) => {
    for (const ws of s.sockets) ws.send(JSON.stringify(message));
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    const method = req.method ?? "GET";
    const admin = req.headers.authorization === `Bearer ${ADMIN_TOKEN}`;
    let m: RegExpMatchArray | null;
    // Pages and media.
    if (method === "GET" && p === "/studio") return send(res, path.join(dist, "pages/studio.html"));
    if (method === "GET" && (m = p.match(/^\/(watch|embed)\/[^/]+$/))) return send(res, path.join(dist, `pages/${m[1]}.html`));
    if (method === "GET" && (m = p.match(/^\/assets\/([\w.-]+)$/))) return send(res, path.join(dist, "assets", m[1]!));
    if (method === "GET" && (m = p.match(/^\/recordings\/([\w./-]+)$/)) && !m[1]!.includes("..")) return send(res, path.join(recordingDir, m[1]!));
    if (method === "GET" && (m = p.match(/^\/live\/([a-z0-9]{12})\/([\w./-]+)$/))) {
      const dir = streams.get(m[1]!)?.mediaDir;
      if (!dir || m[2]!.includes("..")) return json(res, 404, { error: "not found" });
      return send(res, path.join(dir, m[2]!));
    }
    if (!p.startsWith("/api/")) return json(res, 404, { error: "not found" });

    // The API: every call is recorded.
    let raw = "";
    for await (const chunk of req) raw += chunk;
    let body: unknown = undefined;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return json(res, 400, { error: "body is not JSON" });
    }
    requests.push({ method, path: p, body, admin, at: Date.now() });
    const scripted = failNext.get(`${method} ${p}`);
    if (scripted) {
      failNext.delete(`${method} ${p}`);
      return json(res, scripted[0], { error: scripted[1] });
    }
    const needAdmin = () => {
      if (!admin) json(res, 401, { error: "send Authorization: Bearer <admin token>" });
      return !admin;
    };

    if (p === "/api/streams" && method === "POST") {
      if (needAdmin()) return;
      const s = newStream(String(o0(body).title ?? ""), { record: o0(body).record === true });
      streams.set(s.id, s);
      const streamKey = `sk_${randomBytes(20).toString("hex")}`;
      keys.push(streamKey);
      return json(res, 201, { ...adminView(s), streamKey, rtmpUrl: "rtmp://127.0.0.1:1935/live" });
    }
    if (p === "/api/streams" && method === "GET") {
      if (url.searchParams.get("status") === "live") return json(res, 200, [...streams.values()].filter((s) => s.status === "live").map(publicView));
      if (needAdmin()) return;
      return json(res, 200, { streams: [...streams.values()].map(adminView) });
    }
    if (!(m = p.match(/^\/api\/streams\/([a-z0-9]{12})(\/.*)?$/))) return json(res, 404, { error: "no such route" });
    const s = streams.get(m[1]!);
    if (!s) return json(res, 404, { error: `no stream ${m[1]}` });
    const rest = m[2] ?? "";
    const o = (body ?? {}) as Record<string, unknown>;

    if (rest === "" && method === "GET") return json(res, 200, publicView(s));
    if (rest === "" && method === "PATCH") {
      if (needAdmin()) return;
      let webhookSecret: string | undefined;
      if ("webhookUrl" in o) {
        const w = o.webhookUrl;
        if (w !== null && (typeof w !== "string" || !w.startsWith("https://"))) return json(res, 400, { error: "webhookUrl must be an https URL" });
        s.webhookUrl = w as string | null;
        if (w !== null) secrets.push((webhookSecret = `whsec_${randomBytes(16).toString("hex")}`));
      }
      if (typeof o.record === "boolean") s.record = o.record;
      if (typeof o.signedPlayback === "boolean") s.signedPlayback = o.signedPlayback;
      return json(res, 200, { ...adminView(s), ...(webhookSecret ? { webhookSecret } : {}) });
    }
    if (rest === "/key" && method === "POST") {
      if (needAdmin()) return;
      const streamKey = `sk_${randomBytes(20).toString("hex")}`;
      keys.push(streamKey);
      return json(res, 200, { streamKey, rtmpUrl: "rtmp://127.0.0.1:1935/live" });
    }
    if (rest === "/health" && method === "GET") {
      if (needAdmin()) return;
      return json(res, 200, { status: s.status, sessionId: s.sessionId, health: s.status === "live" ? s.health : null });
    }
    if (rest === "/recordings" && method === "GET") {
      return json(res, 200, {
        recordings: s.recordings.map(({ hlsPath, ...r }) => ({ ...r, hlsUrl: `${base()}${hlsPath}` })),
      });
    }
    if ((m = rest.match(/^\/recordings\/([a-z0-9]+)$/)) && method === "DELETE") {
      if (needAdmin()) return;
      const before = s.recordings.length;
      s.recordings = s.recordings.filter((r) => r.sessionId !== m![1]);
      return s.recordings.length < before ? json(res, 204) : json(res, 404, { error: "no such recording" });
    }
    if ((m = rest.match(/^\/chat\/messages\/(\d+)$/)) && method === "DELETE") {
      if (needAdmin()) return;
      const id = Number(m[1]);
      if (!s.chat.some((c) => c.id === id)) return json(res, 404, { error: `no message ${id} in this chat (already deleted?)` });
      s.chat = s.chat.filter((c) => c.id !== id);
      broadcast(s, { type: "message_deleted", id });
      return json(res, 204);
    }
    if (rest === "/chat/bans" && method === "POST") {
      if (needAdmin()) return;
      const userId = String(o.userId ?? "");
      if (!/^[0-9a-f]{16}$/.test(userId)) return json(res, 400, { error: "userId is 16 hex characters" });
      s.banned.add(userId);
      broadcast(s, { type: "user_banned", userId });
      return json(res, 204);
    }
    if ((m = rest.match(/^\/chat\/bans\/([0-9a-f]{16})$/)) && method === "DELETE") {
      if (needAdmin()) return;
      if (!s.banned.delete(m[1]!)) return json(res, 404, { error: `user ${m[1]} is not banned in this chat` });
      broadcast(s, { type: "user_unbanned", userId: m[1]! });
      return json(res, 204);
    }
    if (rest === "/chat/slow-mode" && method === "PUT") {
      if (needAdmin()) return;
      const seconds = o.seconds;
      if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0 || seconds > 600) return json(res, 400, { error: "seconds: 0 to 600" });
      s.slowMode = seconds;
      broadcast(s, { type: "slow_mode", seconds });
      return json(res, 200, { seconds });
    }
    return json(res, 404, { error: "no such route" });
  });

  // The chat room: history, presence and slow mode on join, then whatever the test broadcasts.
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const m = new URL(req.url ?? "/", "http://x").pathname.match(/^\/api\/streams\/([a-z0-9]{12})\/chat$/);
    const s = m ? streams.get(m[1]!) : undefined;
    if (!s) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      s.sockets.add(ws);
      ws.on("close", () => s.sockets.delete(ws));
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as { type: string };
        if (msg.type !== "join") return;
        ws.send(JSON.stringify({ type: "history", messages: s.chat } satisfies ServerMessage));
        ws.send(JSON.stringify({ type: "presence", viewers: s.viewers } satisfies ServerMessage));
        ws.send(JSON.stringify({ type: "slow_mode", seconds: s.slowMode } satisfies ServerMessage));
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: base(),
    streams,
    requests,
    failNext,
    keys,
    secrets,
    /** A viewer's message arrives in the room. */
    say(s: FakeStream, message: ChatMessage) {
      s.chat.push(message);
      broadcast(s, { type: "chat", messages: [message] });
    },
    close: async () => {
      for (const s of streams.values()) for (const ws of s.sockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** ffmpeg writing a small live CMAF HLS stream (one 360p rendition with audio) into `dir`, in real time. */
function startEncoder(dir: string): ChildProcess {
  // prettier-ignore
  const args = [
    "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-b:v", "600k",
    "-c:a", "aac", "-b:a", "64k",
    "-f", "hls", "-hls_time", "2", "-hls_list_size", "6", "-hls_segment_type", "fmp4",
    "-hls_flags", "delete_segments+independent_segments+temp_file",
    "-master_pl_name", "master.m3u8", "-hls_segment_filename", "v/seg-%05d.m4s", "-var_stream_map", "v:0,a:0,name:v", "%v/index.m3u8",
  ];
  const child = spawn("ffmpeg", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", (d: Buffer) => process.stderr.write(`[ffmpeg] ${d}`));
  return child;
}

/** A finished 6 s recording: a VOD HLS playlist with #EXT-X-ENDLIST. */
function makeRecording(dir: string): void {
  // prettier-ignore
  const r = spawnSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-t", "6",
    "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac",
    "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
    "-master_pl_name", "master.m3u8", "-hls_segment_filename", "v/seg-%05d.m4s", "-var_stream_map", "v:0,a:0,name:v", "%v/index.m3u8",
  ], { cwd: dir });
  if (r.status !== 0) throw new Error(`ffmpeg could not make the recording: ${r.stderr}`);
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function untilText(locator: Locator, expected: string | RegExp, timeoutMs = 10_000): Promise<void> {
  let last: string | null = null;
  const ok = (t: string | null) => (typeof expected === "string" ? t === expected : t !== null && expected.test(t));
  await until(async () => ok((last = await locator.first().textContent())), `text ${String(expected)}`, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message} (last: ${JSON.stringify(last)})`);
  });
}

async function inPage<T>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

const HEALTHY: IngestHealth = {
  inputKbps: 4512,
  inputFps: 30,
  keyframeIntervalSeconds: 2,
  encoderSpeed: 1.42,
  lagSeconds: 0.6,
  renditions: ["1080p", "720p", "480p", "360p", "audio"],
  shed: [],
  droppedSegments: 0,
  ladder: { topRung: "passthrough", reason: "H.264 source with 2 s keyframes at 1080p" },
  measuredAt: new Date().toISOString(),
};

const STRUGGLING: IngestHealth = {
  inputKbps: 812,
  inputFps: 29.97,
  keyframeIntervalSeconds: 4,
  encoderSpeed: 0.87,
  lagSeconds: 5.2,
  renditions: ["720p", "480p", "360p", "audio"],
  shed: ["1080p"],
  droppedSegments: 3,
  ladder: { topRung: "transcoded", reason: "keyframes every 4 s, not 2 s" },
  measuredAt: new Date().toISOString(),
};

function msg(id: number, nickname: string, text: string, userId: string): ChatMessage {
  return { id, nickname, text, userId, ts: Date.parse("2026-07-01T20:15:00Z") + id * 1000 };
}

describe.skipIf(!chromiumAvailable() || !ffmpegAvailable)("studio stream tools in Chromium (scripted API)", () => {
  let site: Awaited<ReturnType<typeof startFakeSite>>;
  let work: string;
  let encoder: ChildProcess | undefined;
  let show: FakeStream;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "onair-studio-test-"));
    const recordingDir = path.join(work, "recordings");
    await mkdir(path.join(recordingDir, "v"), { recursive: true });
    makeRecording(recordingDir);
    const { outDir } = await buildWeb(path.join(work, "dist"));
    site = await startFakeSite(outDir, recordingDir);

    const media = path.join(work, "live");
    await mkdir(path.join(media, "v"), { recursive: true });
    encoder = startEncoder(media);
    await until(async () => (await stat(path.join(media, "master.m3u8")).catch(() => null)) !== null, "the first live segments", 20_000);

    show = newStream("Evening show", {
      status: "live",
      sessionId: "sess1",
      viewers: 7,
      mediaDir: media,
      health: HEALTHY,
      chat: [
        msg(1, "Alice", "hello everyone", "a1a1a1a1a1a1a1a1"),
        msg(2, "Spammer", "BUY CHEAP FOLLOWERS", "5555555555555555"),
        msg(3, "Bob", "great stream", "b0b0b0b0b0b0b0b0"),
      ],
      recordings: [
        {
          sessionId: "sess0b",
          hlsPath: "/recordings/master.m3u8",
          durationSeconds: 725,
          startedAt: "2026-06-30T19:00:00.000Z",
          endedAt: "2026-06-30T19:12:05.000Z",
          renditions: ["720p", "480p", "audio"],
        },
        {
          sessionId: "sess0a",
          hlsPath: "/recordings/master.m3u8",
          durationSeconds: 42,
          startedAt: "2026-06-29T18:00:00.000Z",
          endedAt: "2026-06-29T18:00:42.000Z",
          renditions: ["360p", "audio"],
        },
      ],
    });
    site.streams.set(show.id, show);
  }, 90_000);

  afterAll(async () => {
    if (encoder && encoder.exitCode === null) {
      const exited = new Promise((resolve) => encoder!.once("exit", resolve));
      encoder.kill("SIGKILL");
      await exited;
    }
    await site?.close();
    if (work) await rm(work, { recursive: true, force: true });
  }, 30_000);

  async function openStudio(b: BrowserSession, stream: FakeStream): Promise<Page> {
    const { page } = b;
    await page.goto(`${site.url}/studio`);
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.keyboard.press("Enter");
    await page.locator(`.stream-item[data-stream-id="${stream.id}"]`).click();
    await page.getByRole("heading", { name: stream.title, level: 2 }).waitFor();
    return page;
  }

  const metric = (page: Page, name: string) => page.locator(`dd[data-metric="${name}"] .health-value`);
  const apiCalls = (method: string, p: string) => site.requests.filter((r) => r.method === method && r.path === p);

  it("health: shows the scripted figures, refreshes every ~5 s and follows a change; desktop and phone layouts", async () => {
    const b = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
    try {
      show.health = HEALTHY;
      const page = await openStudio(b, show);
      await untilText(metric(page, "inputKbps"), "4.5 Mb/s");
      const expected: Record<string, string> = {
        inputFps: "30 fps",
        keyframeInterval: "2.0 s",
        renditions: "1080p, 720p, 480p, 360p, audio",
        encoderSpeed: "1.42×",
        lag: "0.6 s",
        shed: "none",
        topRung: "Passthrough (source as sent)",
        droppedSegments: "0",
      };
      for (const [name, text] of Object.entries(expected)) expect(await metric(page, name).textContent(), name).toBe(text);
      await untilText(metric(page, "viewers"), "7");
      expect(await page.locator('dd[data-metric="topRung"] .health-note').textContent()).toBe("H.264 source with 2 s keyframes at 1080p");
      const status = page.locator(".health-status");
      expect(await status.getAttribute("role")).toBe("status");
      await untilText(status, "Live: ingest is healthy.");
      expect(await status.locator("li").count()).toBe(0);
      expect(await page.locator(".health-warn").count()).toBe(0);
      // Every figure is labelled: the list reads "Incoming bitrate 4.5 Mb/s" and so on.
      expect(await page.locator(".health-grid dt").allTextContents()).toContain("Encoder speed");
      await until(async () => (await page.locator(".preview-player").getAttribute("data-state")) === "playing", "the preview plays", 30_000);
      await screenshot(page, "studio-health", true);

      // The ingest node reports trouble: within one refresh the panel says so.
      const asked = apiCalls("GET", `/api/streams/${show.id}/health`).length;
      show.health = STRUGGLING;
      await untilText(metric(page, "inputKbps"), "812 kb/s", 8000);
      expect(await metric(page, "inputFps").textContent()).toBe("29.97 fps");
      expect(await metric(page, "keyframeInterval").textContent()).toBe("4.0 s");
      expect(await metric(page, "encoderSpeed").textContent()).toBe("0.87×");
      expect(await metric(page, "lag").textContent()).toBe("5.2 s");
      expect(await metric(page, "shed").textContent()).toBe("1080p");
      expect(await metric(page, "topRung").textContent()).toBe("Transcoded");
      expect(await page.locator('dd[data-metric="topRung"] .health-note').textContent()).toBe("keyframes every 4 s, not 2 s");
      expect(await metric(page, "droppedSegments").textContent()).toBe("3");
      await untilText(page.locator(".health-headline"), "Live, with 5 warnings:");
      expect(await status.locator("li").count()).toBe(5);
      expect(await status.textContent()).toContain("slower than real time (0.87×)");
      expect(await page.locator("dd.health-warn").count()).toBe(5); // keyframes, speed, lag, shed, dropped

      // Polled with the admin token about every 5 s.
      const polls = apiCalls("GET", `/api/streams/${show.id}/health`);
      expect(polls.length).toBeGreaterThan(asked);
      expect(polls.every((r) => r.admin)).toBe(true);
      const gaps = polls.slice(1).map((r, i) => r.at - polls[i]!.at);
      expect(Math.min(...gaps)).toBeGreaterThan(4000);
      expect(Math.max(...gaps)).toBeLessThan(7000);
      await screenshot(page, "studio-health-warnings", true);

      await page.setViewportSize({ width: 390, height: 844 });
      expect(await inPage<number>(page, "document.documentElement.scrollWidth - window.innerWidth")).toBeLessThanOrEqual(0);
      await page.evaluate("document.querySelector('.panel-health').scrollIntoView()");
      await screenshot(page, "studio-health-phone");
      await page.evaluate("document.querySelector('.panel-moderation').scrollIntoView()");
      await screenshot(page, "studio-moderation-phone");
      await screenshot(page, "studio-phone-full", true);
      expect(b.errors()).toEqual([]);
    } finally {
      show.health = HEALTHY;
      await b.close();
    }
  }, 90_000);

  it("moderation: lists chat live, deletes a message, bans and unbans its author, sets slow mode; API errors are shown", async () => {
    const b = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
    try {
      const page = await openStudio(b, show);
      const rows = page.locator(".mod-log > li");
      await until(async () => (await rows.count()) === 3, "the chat history");
      expect(await rows.locator(".mod-text").allTextContents()).toEqual(["hello everyone", "BUY CHEAP FOLLOWERS", "great stream"]);

      // A new message arrives live; text stays text.
      site.say(show, msg(4, "Mallory", '<img src=x onerror="window.pwned=1">', "e0e0e0e0e0e0e0e0"));
      await until(async () => (await rows.count()) === 4, "the live message");
      expect(await rows.nth(3).locator(".mod-text").textContent()).toBe('<img src=x onerror="window.pwned=1">');
      expect(await inPage<unknown>(page, "window.pwned")).toBeUndefined();

      // Delete, from the keyboard: the API is called with the admin token and the row goes.
      const del = page.getByRole("button", { name: "Delete message from Spammer: BUY CHEAP FOLLOWERS" });
      await del.focus();
      await page.keyboard.press("Enter");
      await until(async () => (await rows.count()) === 3, "the deleted message to leave the list");
      expect(await rows.locator(".mod-text").allTextContents()).not.toContain("BUY CHEAP FOLLOWERS");
      const deletes = apiCalls("DELETE", `/api/streams/${show.id}/chat/messages/2`);
      expect(deletes).toHaveLength(1);
      expect(deletes[0]!.admin).toBe(true);
      await untilText(page.locator("#studio-announcer"), "Deleted the message from Spammer.");

      // Another moderator deletes one: the room's broadcast removes it here too.
      show.chat = show.chat.filter((c) => c.id !== 3);
      for (const ws of show.sockets) ws.send(JSON.stringify({ type: "message_deleted", id: 3 }));
      await until(async () => (await rows.count()) === 2, "the broadcast deletion");

      // An API error is shown, not swallowed.
      site.failNext.set(`DELETE /api/streams/${show.id}/chat/messages/1`, [503, "the chat room is unavailable"]);
      await page.getByRole("button", { name: /^Delete message from Alice/ }).click();
      await untilText(page.locator(".panel-moderation .error"), "Could not delete the message: the chat room is unavailable");
      expect(await rows.count()).toBe(2);

      // Ban the author of a message, by the user id it carries; then unban.
      await page.getByRole("button", { name: "Ban Mallory (user e0e0e0e0e0e0e0e0)" }).click();
      await until(async () => apiCalls("POST", `/api/streams/${show.id}/chat/bans`).length === 1, "the ban request");
      expect(apiCalls("POST", `/api/streams/${show.id}/chat/bans`)[0]!.body).toEqual({ userId: "e0e0e0e0e0e0e0e0" });
      await until(async () => (await page.locator('.mod-row.mod-banned-user[data-user="e0e0e0e0e0e0e0e0"]').count()) === 1, "the row marked banned");
      await page.getByRole("button", { name: "Unban Mallory" }).click();
      await until(async () => apiCalls("DELETE", `/api/streams/${show.id}/chat/bans/e0e0e0e0e0e0e0e0`).length === 1, "the unban request");
      await until(async () => (await page.locator(".mod-banned-user").count()) === 0, "the ban lifted");

      // Slow mode: on with 30 s, then off.
      await page.getByLabel("Seconds between messages").fill("30");
      await page.getByLabel("Slow mode", { exact: true }).check();
      await until(async () => show.slowMode === 30, "slow mode on");
      expect(apiCalls("PUT", `/api/streams/${show.id}/chat/slow-mode`).map((r) => r.body)).toEqual([{ seconds: 30 }]);
      await untilText(page.locator("#studio-announcer"), "Slow mode on: one message every 30 s.");
      await page.getByLabel("Slow mode", { exact: true }).uncheck();
      await until(async () => show.slowMode === 0, "slow mode off");
      expect(await page.getByLabel("Slow mode", { exact: true }).isChecked()).toBe(false);
      await screenshot(page, "studio-moderation");

      // The only console error is the scripted 503.
      expect(b.errors().filter((e) => !/status of 503/.test(e.text))).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);

  it("settings: record toggle, webhook with its secret shown once, invalid URL refused, key rotation", async () => {
    const b = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
    try {
      const page = await openStudio(b, show);
      const patches = () => apiCalls("PATCH", `/api/streams/${show.id}`);

      const record = page.getByLabel("Record each broadcast");
      expect(await record.isChecked()).toBe(false);
      await record.check();
      await until(async () => patches().length === 1, "the PATCH");
      expect(patches()[0]!.body).toEqual({ record: true });
      expect(patches()[0]!.admin).toBe(true);
      expect(show.record).toBe(true);
      expect(await record.isChecked()).toBe(true);

      // The API refuses the URL: its error is shown and nothing changed.
      const url = page.getByLabel("Webhook URL");
      await url.fill("http://example.com/hook");
      await page.getByRole("button", { name: "Save webhook" }).click();
      await untilText(page.locator(".panel-settings .webhook-form .error"), "Could not save the webhook: webhookUrl must be an https URL");
      expect(show.webhookUrl).toBeNull();

      await url.fill("https://example.com/hooks/onair");
      await url.press("Enter");
      const secretField = page.getByLabel("Webhook secret");
      await secretField.waitFor();
      expect(patches().at(-1)!.body).toEqual({ webhookUrl: "https://example.com/hooks/onair" });
      expect(await secretField.getAttribute("type")).toBe("password");
      expect(await secretField.inputValue()).toBe(site.secrets.at(-1));
      const secretBox = page.locator(".copy-field", { has: secretField });
      await secretBox.getByRole("button", { name: "Reveal" }).click();
      expect(await secretField.getAttribute("type")).toBe("text");
      expect(await secretBox.getByRole("button", { name: "Copy" }).isVisible()).toBe(true);
      await screenshot(page, "studio-settings");

      // Rotate the key (this stream was not created in this tab, so no key was shown yet).
      expect(await page.getByLabel("Stream key").count()).toBe(0);
      await page.getByRole("button", { name: "Rotate key…" }).click();
      await page.getByRole("button", { name: "Yes, make a new key" }).click();
      const key = page.getByLabel("Stream key");
      await key.waitFor();
      expect(apiCalls("POST", `/api/streams/${show.id}/key`)).toHaveLength(1);
      expect(await key.getAttribute("type")).toBe("password");
      expect(await key.inputValue()).toBe(site.keys.at(-1));
      await page.locator(".copy-field", { has: key }).getByRole("button", { name: "Reveal" }).click();
      expect(await key.getAttribute("type")).toBe("text");
      expect(await page.getByLabel("Server").inputValue()).toBe("rtmp://127.0.0.1:1935/live");

      // The secret is shown once: selecting the stream again (a fresh panel) no longer has it, but the
      // saved URL and the Remove button are there.
      await page.reload();
      await page.getByRole("heading", { name: show.title, level: 2 }).waitFor();
      expect(await page.getByLabel("Webhook URL").inputValue()).toBe("https://example.com/hooks/onair");
      expect(await page.getByLabel("Webhook secret").count()).toBe(0);
      await page.getByRole("button", { name: "Remove webhook" }).click();
      await until(async () => show.webhookUrl === null, "the webhook removed");
      expect(patches().at(-1)!.body).toEqual({ webhookUrl: null });
      // The rotated key is remembered in this tab like a new stream's.
      expect(await page.getByLabel("Stream key").inputValue()).toBe(site.keys.at(-1));

      expect(b.errors().filter((e) => !/status of 400/.test(e.text))).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);

  it("create: a stream made with “Record its broadcasts” is created recording", async () => {
    const b = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
    try {
      const { page } = b;
      await page.goto(`${site.url}/studio`);
      await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
      await page.keyboard.press("Enter");
      await page.getByLabel("Title").fill("Recorded talk");
      await page.getByLabel("Record its broadcasts").check();
      await page.getByRole("button", { name: "Create stream" }).click();
      await page.getByRole("heading", { name: "Recorded talk", level: 2 }).waitFor();
      expect(apiCalls("POST", "/api/streams").at(-1)!.body).toEqual({ title: "Recorded talk", record: true });
      expect(await page.getByLabel("Record each broadcast").isChecked()).toBe(true);
      expect(await page.getByLabel("Record its broadcasts").isChecked()).toBe(false); // the form is reset
      expect(await page.getByLabel("Stream key").inputValue()).toBe(site.keys.at(-1));
      // A new, offline stream: the health panel says so, and there are no recordings.
      await untilText(page.locator(".health-headline"), "Offline: the figures appear a few seconds after OBS starts streaming.");
      expect(await page.locator('dd[data-metric="inputKbps"] .health-value').textContent()).toBe("—");
      await untilText(page.locator(".panel-recordings [role=status]"), /^No recordings yet\./);
      expect(b.errors()).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);

  it("recordings: listed newest first, one plays in the page, delete calls the API", async () => {
    const b = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
    try {
      const page = await openStudio(b, show);
      const items = page.locator(".recording-list > li");
      await until(async () => (await items.count()) === 2, "two recordings");
      expect([await items.nth(0).getAttribute("data-session"), await items.nth(1).getAttribute("data-session")]).toEqual(["sess0b", "sess0a"]);
      expect(await items.nth(0).locator(".hint").textContent()).toBe("12:05 · 720p, 480p, audio");
      expect(await items.nth(1).locator(".hint").textContent()).toBe("42 s · 360p, audio");
      expect(await items.nth(0).getByRole("link", { name: /^HLS URL of the recording/ }).getAttribute("href")).toBe(`${site.url}/recordings/master.m3u8`);
      await untilText(page.locator(".panel-recordings [role=status]"), "2 recordings.");

      // Play the newest: a real decode of the recording in the studio.
      await items.nth(0).getByRole("button", { name: /^Play the recording of/ }).click();
      const evidence = await waitForPlayback(page, { selector: ".recording-video", minAdvanceSeconds: 1, minNewFrames: 10, timeoutMs: 20_000 });
      expect(evidence.nonBlank).toBe(true);
      await screenshot(page, "studio-recordings", true);

      await items.nth(1).getByRole("button", { name: /^Delete the recording of/ }).click();
      await page.getByRole("button", { name: "Yes, delete it" }).click();
      await until(async () => (await items.count()) === 1, "the deleted recording to leave the list");
      const deletes = apiCalls("DELETE", `/api/streams/${show.id}/recordings/sess0a`);
      expect(deletes).toHaveLength(1);
      expect(deletes[0]!.admin).toBe(true);
      expect(show.recordings.map((r) => r.sessionId)).toEqual(["sess0b"]);
      await untilText(page.locator(".panel-recordings [role=status]"), "1 recording.");
      expect(b.errors()).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);

  it("watch: the HLS and DASH URLs are shown, absolute and copyable", async () => {
    const idle = newStream("Later today");
    site.streams.set(idle.id, idle);
    const b = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    try {
      await b.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: site.url });
      const { page } = b;
      await page.goto(`${site.url}/watch/${idle.id}`);
      await page.getByText("Watch in VLC or another player").click();
      const dash = page.getByLabel("DASH", { exact: true });
      await dash.waitFor();
      expect(await dash.inputValue()).toBe(`${site.url}/live/${idle.id}/manifest.mpd`);
      expect(await page.getByLabel("HLS", { exact: true }).inputValue()).toBe(`${site.url}/live/${idle.id}/master.m3u8`);
      await page.locator(".copy-field", { has: dash }).getByRole("button", { name: "Copy" }).click();
      await until(async () => (await inPage<string>(page, "navigator.clipboard.readText()")) === `${site.url}/live/${idle.id}/manifest.mpd`, "the DASH URL on the clipboard");
      await screenshot(page, "watch-external-urls");
      expect(b.errors()).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);
});
