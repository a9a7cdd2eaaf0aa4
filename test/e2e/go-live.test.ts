import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStream, type StreamCredentials } from "../../scripts/demo-stream";
import { startTestPattern } from "../../scripts/test-pattern";
import { launchBrowser, playerState, screenshot, waitForPlayback } from "../helpers/browser";
import { fetchPlaylist, lastSegmentNumber } from "../helpers/hls";
import { startTestStack, waitFor, type TestStack } from "../helpers/stack";

const run = promisify(execFile);

/**
 * Issue 2's walking skeleton, end to end with the real parts: the streams API in workerd, ffmpeg publishing
 * RTMP to the ingest node, the ladder uploaded into local R2, and everything read back through the edge.
 */
describe("go live locally: RTMP in, ABR HLS out at the edge", () => {
  let stack: TestStack;
  let stream: StreamCredentials;
  let publisherExit: Promise<unknown>;

  beforeAll(async () => {
    // A short reconnect window: the last test waits for the end after the publisher's exit.
    stack = await startTestStack({ ONAIR_RECONNECT_WINDOW_SECONDS: "2" });
    stream = await createStream(stack.edgeUrl, stack.adminToken, "e2e skeleton");
    const publisher = startTestPattern({ url: `${stream.rtmpUrl}/${stream.streamKey}`, durationSeconds: 40 });
    publisherExit = once(publisher, "exit");
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("answers the create call with what OBS needs", () => {
    expect(stream.id).toMatch(/^[a-z0-9]{12}$/);
    expect(stream.streamKey).toMatch(/^sk_[0-9a-f]{40}$/);
    expect(stream.rtmpUrl).toBe(stack.rtmpServerUrl);
    expect(stream.hlsUrl).toBe(`${stack.edgeUrl}/live/${stream.id}/master.m3u8`);
    expect(stream.watchUrl).toBe(`${stack.edgeUrl}/watch/${stream.id}`);
  });

  it("publishes a master playlist with at least three variants through the edge", async () => {
    const master = await waitFor("the master playlist", async () => {
      const p = await fetchPlaylist(stream.hlsUrl);
      return p.status === 200 ? p : undefined;
    });
    expect(master.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    const variants = master.manifest.playlists ?? [];
    expect(variants.length).toBeGreaterThanOrEqual(3);
    for (const v of variants) {
      expect(v.attributes.BANDWIDTH).toBeGreaterThan(0);
      expect(v.attributes.RESOLUTION?.height).toBeGreaterThan(0);
      expect(v.attributes.CODECS).toMatch(/avc1\./);
    }
    const heights = variants.map((v) => v.attributes.RESOLUTION!.height).sort((a, b) => b - a);
    expect(heights.slice(0, 3)).toEqual([720, 480, 360]);

    const status = await (await fetch(`${stack.edgeUrl}/api/streams/${stream.id}`)).json();
    expect(status).toMatchObject({ id: stream.id, status: "live" });

    // The test pattern is H.264 High with 2 s keyframes: its own video is the top rung, and the stream's
    // health says so (with why) for the studio. The Chromium test below then plays that master.
    const health = (await (await fetch(`${stack.edgeUrl}/api/streams/${stream.id}/health`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).json()) as {
      health: { ladder: { topRung: string; reason: string }; renditions: string[] } | null;
    };
    expect(health.health?.ladder).toEqual({ topRung: "passthrough", reason: "passthrough: H.264 High, keyframes every 2.00 s" });
    expect(health.health?.renditions).toEqual(expect.arrayContaining(["720p", "480p", "360p", "audio"]));
  });

  it("grows every media playlist and serves segments ffprobe can read", async () => {
    const master = (await fetchPlaylist(stream.hlsUrl)).manifest;
    const mediaUrls = (master.playlists ?? []).map((p) => new URL(p.uri, stream.hlsUrl).href);
    const first = await Promise.all(mediaUrls.map(async (u) => lastSegmentNumber((await fetchPlaylist(u)).manifest)));
    await waitFor("every media playlist to grow", async () => {
      const now = await Promise.all(mediaUrls.map(async (u) => lastSegmentNumber((await fetchPlaylist(u)).manifest)));
      return now.every((n, i) => n > first[i]!) ? now : undefined;
    }, 20_000);

    const top = await fetchPlaylist(mediaUrls[0]!);
    // Every segment is dated on the wall clock, each one its duration after the one before, close to now.
    const dates = top.manifest.segments.map((s) => Date.parse(s.dateTimeString ?? ""));
    expect(dates.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < dates.length; i++) expect(dates[i]! - dates[i - 1]!).toBeCloseTo(top.manifest.segments[i - 1]!.duration * 1000, -2);
    expect(Math.abs(Date.now() - dates.at(-1)!)).toBeLessThan(30_000);
    const segment = top.manifest.segments.at(-1)!;
    const initUrl = new URL(segment.map!.uri, mediaUrls[0]).href;
    const segmentUrl = new URL(segment.uri, mediaUrls[0]).href;
    const [init, media] = await Promise.all([fetch(initUrl), fetch(segmentUrl)]);
    expect(media.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(top.headers.get("cache-control")).toBe("public, max-age=1, s-maxage=1, stale-if-error=0");
    const dir = await mkdtemp(join(tmpdir(), "onair-seg-"));
    const file = join(dir, "sample.mp4");
    await writeFile(file, Buffer.concat([Buffer.from(await init.arrayBuffer()), Buffer.from(await media.arrayBuffer())]));
    const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,height:format=format_name", "-of", "json", file]);
    const probe = JSON.parse(stdout) as { streams: { codec_name: string; height?: number }[]; format: { format_name: string } };
    expect(probe.format.format_name).toContain("mp4");
    expect(probe.streams.map((s) => s.codec_name)).toContain("h264");
    expect(probe.streams.find((s) => s.codec_name === "h264")?.height).toBe(720);
  });

  it("plays in Chromium through hls.js on the watch page", async () => {
    // The poster is written by the ingest node every few seconds; before the first one it may 404.
    const browser = await launchBrowser({ ignoreErrors: [/poster\.jpg/, /status of 404/] });
    // LL-HLS: what hls.js asked for with _HLS_msn (and _HLS_part), whether each answer lists it, and the
    // parts it loaded.
    const blocking: Array<{ status: number; reaches: Promise<boolean> }> = [];
    const parts: number[] = [];
    browser.page.on("response", (response) => {
      const url = new URL(response.url());
      if (/\.p\d+\.m4s$/.test(url.pathname)) parts.push(response.status());
      const msn = url.searchParams.get("_HLS_msn");
      if (msn === null) return;
      const part = url.searchParams.get("_HLS_part");
      const reaches = response.text().then((text) => listsPart(text, Number(msn), part === null ? null : Number(part)), () => false);
      blocking.push({ status: response.status(), reaches });
    });
    try {
      await browser.page.goto(stream.watchUrl);
      const evidence = await waitForPlayback(browser.page, { timeoutMs: 30_000 });
      expect(evidence.advancedSeconds).toBeGreaterThanOrEqual(2);
      expect(evidence.framesDecoded).toBeGreaterThanOrEqual(20);
      expect(evidence.nonBlank).toBe(true);
      const player = await playerState(browser.page);
      // Chromium could also play HLS natively; the test must prove hls.js is the one playing.
      expect(player?.usingHlsJs).toBe(true);
      expect(player?.levels.map((l) => l.height)).toEqual(expect.arrayContaining([720, 480, 360]));
      // hls.js holds its next playlist request open until the edge has that part, and gets it. (One that
      // outlasts three target durations, say while a loaded machine restarts ffmpeg, gets the playlist as
      // it is: still a 200, but without the part.) It plays from parts, not only whole segments.
      await waitFor("hls.js to make blocking part requests", async () => (blocking.length >= 4 && parts.length >= 4 ? true : undefined), 10_000);
      const answered = await Promise.all(blocking.map(async (r) => ({ ...r, reaches: await r.reaches })));
      expect(answered.map((r) => r.status)).toEqual(answered.map(() => 200));
      expect(answered.filter((r) => r.reaches).length).toBeGreaterThanOrEqual(3);
      expect(parts).toEqual(parts.map(() => 200));
      await screenshot(browser.page, "e2e-watch-playing");
      expect(browser.errors()).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("publishes a JPEG poster for listings", async () => {
    const poster = await waitFor("the poster", async () => {
      const res = await fetch(`${stack.edgeUrl}/live/${stream.id}/poster.jpg`);
      return res.status === 200 ? res : undefined;
    }, 30_000);
    expect(poster.headers.get("content-type")).toBe("image/jpeg");
    const bytes = new Uint8Array(await poster.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  });

  it("ends every playlist and goes idle when the publisher stops", async () => {
    await publisherExit;
    const master = (await fetchPlaylist(stream.hlsUrl)).manifest;
    for (const p of master.playlists ?? []) {
      const url = new URL(p.uri, stream.hlsUrl).href;
      await waitFor(`EXT-X-ENDLIST in ${p.uri}`, async () => ((await fetchPlaylist(url)).manifest.endList ? true : undefined), 30_000);
    }
    await waitFor("status idle", async () => {
      const s = (await (await fetch(`${stack.edgeUrl}/api/streams/${stream.id}`)).json()) as { status: string };
      return s.status === "idle" ? true : undefined;
    }, 30_000);
  });
});

/** The playlist lists segment `msn` whole, or (with `part`) that part of it or anything after it. */
function listsPart(playlist: string, msn: number, part: number | null): boolean {
  const lastWhole = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1]) + (playlist.match(/#EXTINF:/g)?.length ?? 0) - 1;
  if (lastWhole >= msn || part === null) return lastWhole >= msn;
  const [segment, index] = [...playlist.matchAll(/URI="seg-(\d+)\.p(\d+)\.m4s"/g)].map((m) => [Number(m[1]), Number(m[2])]).at(-1) ?? [-1, -1];
  return segment! > msn || (segment === msn && index! >= part);
}
