import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPattern } from "../../scripts/test-pattern";
import { launchBrowser, playerState, screenshot, waitForPlayback, waitForPlayerState, type BrowserSession } from "../helpers/browser";
import { startTestStack, type TestStack } from "../helpers/stack";

/**
 * Issue 6 on the real stack, as a streamer and a viewer would use it: the studio creates a stream, its key
 * works for a real ffmpeg publish, the watch page that was open while offline starts playing by itself,
 * the quality menu switches renditions, the home page lists the stream, and the page says when it ends.
 */
describe("studio to viewer, in Chromium on the real stack", () => {
  let stack: TestStack;
  let browser: BrowserSession;

  beforeAll(async () => {
    // A short reconnect window so the end of the stream comes soon after the publisher stops.
    stack = await startTestStack({ ONAIR_RECONNECT_WINDOW_SECONDS: "2" });
    // Posters and playlists may 404 for a moment between "live" and the first upload.
    browser = await launchBrowser({ viewport: { width: 1400, height: 1000 }, ignoreErrors: [/status of 404/] });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("creates a stream in the studio whose key goes live, and viewers watch it from offline to ended", async () => {
    const studio = browser.page;
    await studio.goto(`${stack.edgeUrl}/studio`);
    await studio.getByLabel("Admin token").fill(stack.adminToken);
    await studio.keyboard.press("Enter");
    await studio.getByLabel("Title").fill("Studio check");
    await studio.getByRole("button", { name: "Create stream" }).click();
    await studio.getByLabel("Stream key").waitFor();
    const key = await studio.getByLabel("Stream key").inputValue();
    const server = await studio.getByLabel("Server").inputValue();
    const id = await studio.locator(".stream-panel").getAttribute("data-stream-id");
    expect(server).toBe(stack.rtmpServerUrl);
    expect(key).toMatch(/^sk_[0-9a-f]{40}$/);
    await screenshot(studio, "e2e-studio-created");

    const watch = await browser.newPage();
    await watch.goto(`${stack.edgeUrl}/watch/${id}`);
    await waitForPlayerState(watch, "offline");

    const publisher = startTestPattern({ url: `${server}/${key}`, durationSeconds: 30 });
    const publisherExit = once(publisher, "exit");
    await waitForPlayerState(watch, "playing", 60_000);
    const evidence = await waitForPlayback(watch);
    expect(evidence.nonBlank).toBe(true);
    expect((await playerState(watch))?.usingHlsJs).toBe(true);

    const quality = watch.getByLabel("Quality");
    for (const height of [360, 720]) {
      const value = await quality.locator("option", { hasText: new RegExp(`^${height}p$`) }).getAttribute("value");
      await quality.selectOption(value!);
      await watch.waitForFunction(`document.querySelector("video").videoHeight === ${height}`, undefined, { timeout: 20_000 });
    }
    await screenshot(watch, "e2e-watch-quality");

    const home = await browser.newPage();
    await home.goto(`${stack.edgeUrl}/`);
    await home.waitForSelector("#live-list > li", { timeout: 20_000 });
    expect(await home.locator("#live-list").textContent()).toContain("Studio check");
    await screenshot(home, "e2e-home");

    const [exitCode] = (await publisherExit) as [number | null];
    expect(exitCode).toBe(0);
    await waitForPlayerState(watch, "ended", 60_000);
    await screenshot(watch, "e2e-watch-ended");
    expect(browser.errors()).toEqual([]);
  });
});
