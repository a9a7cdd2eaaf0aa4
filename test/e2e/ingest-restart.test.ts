import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStream, type StreamCredentials } from "../../scripts/demo-stream";
import { launchBrowser, waitForPlayback, type BrowserSession } from "../helpers/browser";
import { fetchPlaylist } from "../helpers/hls";
import { startTestStack, TestPublishers, waitFor, type TestStack } from "../helpers/stack";

/**
 * Issue 7's ingest node restart, for real: the ingest process is SIGKILLed while a recorded stream is
 * live (no chance to finish anything), then started again. The new process ends the session the dead one
 * left (closed playlists, the stream idle, the recording listed); the publisher reconnects, as OBS does,
 * and the stream is live again at the same URLs; the watch page, open all along, plays it without a reload.
 */
describe("an ingest node killed and restarted while live", () => {
  let stack: TestStack;
  let stream: StreamCredentials;
  let browser: BrowserSession;
  const publishers = new TestPublishers(() => `${stream.rtmpUrl}/${stream.streamKey}`);

  beforeAll(async () => {
    stack = await startTestStack();
    stream = await createStream(stack.edgeUrl, stack.adminToken, "e2e ingest restart");
    const patch = await fetch(`${stack.edgeUrl}/api/streams/${stream.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ record: true }),
    });
    expect(patch.status).toBe(200);
    browser = await launchBrowser({ ignoreErrors: [/poster\.jpg/, /status of 404/, /status of 503/, /ERR_/] });
  });

  afterAll(async () => {
    publishers.killAll();
    await browser?.close();
    await stack?.stop();
  });

  const publish = () => publishers.publish(90);
  const status = async () => (await (await fetch(`${stack.edgeUrl}/api/streams/${stream.id}`)).json()) as { status: string; sessionId: string | null };

  it("ends the dead process's session, then goes live again when the publisher reconnects", async () => {
    const first = publish();
    const live = await waitFor("the stream to go live", async () => {
      const s = await status();
      return s.status === "live" && (await fetchPlaylist(stream.hlsUrl)).status === 200 ? s : undefined;
    });
    const master = await fetchPlaylist(stream.hlsUrl);
    const mediaUrl = new URL(master.manifest.playlists![0]!.uri, stream.hlsUrl).href;
    await browser.page.goto(stream.watchUrl);
    await waitForPlayback(browser.page, { timeoutMs: 30_000 });

    await stack.crashIngest();
    // The publisher's connection died with the node; OBS would retry, the test does it after the restart.
    await once(first, "exit");
    await stack.restartIngest();

    // The session the dead process left: its playlists closed, over the whole session (it was recorded).
    const ended = await waitFor("the old session's playlist to end", async () => {
      const p = await fetchPlaylist(mediaUrl);
      return p.manifest.endList ? p : undefined;
    }, 20_000);
    expect(ended.text).toContain("#EXT-X-PLAYLIST-TYPE:VOD");
    expect(ended.manifest.mediaSequence).toBe(1);
    await waitFor("the stream idle", async () => ((await status()).status === "idle" ? true : undefined), 20_000);
    const recordings = await waitFor("the recording listed", async () => {
      const body = (await (await fetch(`${stack.edgeUrl}/api/streams/${stream.id}/recordings`)).json()) as {
        recordings: Array<{ sessionId: string; hlsUrl: string; durationSeconds: number }>;
      };
      return body.recordings.length > 0 ? body.recordings : undefined;
    }, 20_000);
    expect(recordings[0]).toMatchObject({ sessionId: live.sessionId });
    expect(recordings[0]!.durationSeconds).toBeGreaterThanOrEqual(2 * (ended.manifest.segments.length - 1));
    expect(stack.ingestLog.join("\n")).toMatch(/ended a session the previous process left live/);

    // OBS reconnects: a new session at the same stream URLs, and the open page plays it by itself.
    publish();
    const again = await waitFor("the stream live again", async () => {
      const s = await status();
      return s.status === "live" && s.sessionId !== live.sessionId ? s : undefined;
    }, 60_000);
    expect(again.sessionId).not.toBe(live.sessionId);
    const evidence = await waitForPlayback(browser.page, { timeoutMs: 45_000, minAdvanceSeconds: 3 });
    expect(evidence.nonBlank).toBe(true);
    const playing = await browser.page.evaluate(() => (globalThis as unknown as { onairPlayer?: { hls?: { url?: string } } }).onairPlayer?.hls?.url ?? "");
    expect(playing).toContain(`/live/${stream.id}/`);
  }, 180_000);
});
