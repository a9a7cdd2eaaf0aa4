import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStream, type StreamCredentials } from "../../scripts/demo-stream";
import { launchBrowser, sampleVideo, waitForPlayback, waitForPlayerState, type BrowserSession } from "../helpers/browser";
import { fetchPlaylist } from "../helpers/hls";
import { startTestStack, TestPublishers, waitFor, type TestStack } from "../helpers/stack";

/**
 * Issue 7's encoder drop, for real: OBS's connection goes away mid-stream and comes back within the
 * reconnect window. The stream keeps its URLs, the playlists continue after a discontinuity, and hls.js in
 * Chromium plays straight through the break; once the publisher is gone for longer than the window, the
 * stream ends and the page says so.
 */
const RECONNECT_WINDOW_SECONDS = 6;
const FIRST_PUBLISH_SECONDS = 14;

describe("an encoder that drops and reconnects within the window", () => {
  let stack: TestStack;
  let stream: StreamCredentials;
  let browser: BrowserSession;
  const publishers = new TestPublishers(() => `${stream.rtmpUrl}/${stream.streamKey}`);

  beforeAll(async () => {
    stack = await startTestStack({ ONAIR_RECONNECT_WINDOW_SECONDS: String(RECONNECT_WINDOW_SECONDS) });
    stream = await createStream(stack.edgeUrl, stack.adminToken, "e2e encoder drop");
    browser = await launchBrowser({ ignoreErrors: [/poster\.jpg/, /status of 404/] });
  });

  afterAll(async () => {
    publishers.killAll();
    await browser?.close();
    await stack?.stop();
  });

  const publish = (seconds: number) => publishers.publish(seconds);
  const variantUrl = async () => {
    const master = await fetchPlaylist(stream.hlsUrl);
    return new URL(master.manifest.playlists![0]!.uri, stream.hlsUrl).href;
  };

  it("keeps the session and its URLs, continues the numbering after a discontinuity, and hls.js plays through", async () => {
    const first = publish(FIRST_PUBLISH_SECONDS);
    await waitFor("the stream to go live", async () => ((await fetchPlaylist(stream.hlsUrl)).status === 200 ? true : undefined));
    const mediaUrl = await variantUrl();
    // LL-HLS parts hls.js loads: segment number and status.
    const parts: { segment: number; status: number }[] = [];
    browser.page.on("response", (response) => {
      const part = /\/seg-(\d+)\.p\d+\.m4s$/.exec(new URL(response.url()).pathname);
      if (part) parts.push({ segment: Number(part[1]), status: response.status() });
    });
    await browser.page.goto(stream.watchUrl);
    await waitForPlayback(browser.page, { timeoutMs: 30_000 });

    // The publisher's -t ends its RTMP session, as OBS losing its network does; it comes right back.
    await once(first, "exit");
    const before = await fetchPlaylist(mediaUrl);
    const lastBefore = before.manifest.mediaSequence! + before.manifest.segments.length - 1;
    publish(30);

    const after = await waitFor("segments of the second publish", async () => {
      const p = await fetchPlaylist(mediaUrl);
      return p.manifest.discontinuityStarts.length > 0 && p.manifest.segments.length > p.manifest.discontinuityStarts.at(-1)! + 1 ? p : undefined;
    }, 30_000);
    // Same media playlist URL (same session), numbering continued, one break where the publisher came back.
    expect(await variantUrl()).toBe(mediaUrl);
    // The first ffmpeg's last segments may still be uploading when its publisher leaves: the numbering
    // continues after whatever it stored, never restarting.
    const firstAfterBreak = after.manifest.mediaSequence! + after.manifest.discontinuityStarts.at(-1)!;
    expect(firstAfterBreak).toBeGreaterThan(lastBefore);
    expect(after.text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);

    // The player crosses the break: media time keeps growing well past what the first publish made.
    const crossed = await waitFor("playback past the break", async () => {
      const sample = await sampleVideo(browser.page);
      return sample && sample.currentTime > FIRST_PUBLISH_SECONDS + 6 && !sample.paused ? sample : undefined;
    }, 45_000, 500);
    const later = await waitFor("more frames after the break", async () => {
      const sample = await sampleVideo(browser.page);
      return sample && sample.totalVideoFrames >= crossed.totalVideoFrames + 30 ? sample : undefined;
    }, 15_000, 500);
    expect(later.currentTime).toBeGreaterThan(crossed.currentTime);
    // Parts resume with the new ffmpeg (from its second segment: its first has nothing stored to date it by),
    // and hls.js plays them: low latency survives the reconnect.
    await waitFor("parts of the second publish in the player", async () => (parts.some((p) => p.segment > firstAfterBreak) ? true : undefined), 20_000, 500);
    expect(parts.map((p) => p.status)).toEqual(parts.map(() => 200));
    expect(browser.errors()).toEqual([]);
  }, 150_000);

  it("ends the stream once the publisher stays away longer than the window", async () => {
    await Promise.all(publishers.started.filter((p) => p.exitCode === null).map((p) => once(p, "exit")));
    const mediaUrl = await variantUrl();
    const ended = await waitFor("EXT-X-ENDLIST", async () => {
      const p = await fetchPlaylist(mediaUrl);
      return p.manifest.endList ? p : undefined;
    }, (RECONNECT_WINDOW_SECONDS + 20) * 1000);
    expect(ended.manifest.segments.length).toBeGreaterThan(0);
    // "idle" is reported once the final playlists are stored, so it may follow ENDLIST by a moment.
    const status = await waitFor("status idle", async () => {
      const body = (await (await fetch(`${stack.edgeUrl}/api/streams/${stream.id}`)).json()) as { status: string };
      return body.status === "idle" ? body : undefined;
    }, 15_000);
    expect(status.status).toBe("idle");
    await waitForPlayerState(browser.page, "ended", 30_000);
  }, 90_000);
});
