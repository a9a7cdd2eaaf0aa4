import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { buildWeb } from "../../scripts/build-web";
import { ChatProbe, newClientId } from "../helpers/chat-probe";
import { chromiumAvailable, launchBrowser, screenshot, type BrowserSession } from "../helpers/browser";
import { startEdgeWorker, type EdgeWorker } from "../helpers/edge-worker";

// The chat panel in a real browser, on the real watch page served by the local Worker, next to a viewer
// connected from Node: text stays text, tabs count once, reactions and deletions reach the page.
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const window: { pwned?: boolean };

const XSS = `<img src=x onerror="window.pwned = true">`;

let work: string;
let edge: EdgeWorker;
let browser: BrowserSession;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "onair-chat-browser-"));
  // Not web/dist: a running stack may be serving it.
  const { outDir } = await buildWeb(path.join(work, "dist"));
  edge = await startEdgeWorker({ assetsDir: outDir });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await edge?.stop();
  await rm(work, { recursive: true, force: true });
});

async function createStream(): Promise<string> {
  const res = await fetch(`${edge.url}/api/streams`, {
    method: "POST",
    headers: { Authorization: `Bearer ${edge.adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ title: "chat in the browser" }),
  });
  return ((await res.json()) as { id: string }).id;
}

async function nodeViewer(streamId: string): Promise<{ probe: ChatProbe; socket: WebSocket }> {
  const socket = new WebSocket(`${edge.url.replace("http", "ws")}/api/streams/${streamId}/chat?cid=${newClientId()}`);
  const probe = new ChatProbe((frame) => socket.send(frame));
  socket.on("message", (data) => probe.frame(data.toString()));
  await new Promise((resolve) => socket.once("open", resolve));
  probe.send({ type: "join", nickname: "node" });
  await probe.next("history");
  return { probe, socket };
}

describe.skipIf(!chromiumAvailable())("chat panel in the browser", () => {
  it("renders what viewers send as text, counts tabs once, and shows reactions and deletions", async () => {
    const id = await createStream();
    const viewer = await nodeViewer(id);
    const page = browser.page;
    await page.goto(`${edge.url}/watch/${id}`);
    await page.fill(".chat-form input", "<b>mallory</b>");
    await page.click(".chat-form button");
    await page.waitForSelector(".chat-form input[name=text]:not([disabled])");
    await page.fill(".chat-form input", XSS);
    await page.click(".chat-form button");

    const fromPage = await viewer.probe.nextChat(10_000);
    expect(fromPage).toMatchObject({ nickname: "<b>mallory</b>", text: XSS });

    await page.waitForFunction(() => document.querySelectorAll(".chat-log li").length === 1);
    expect(await page.evaluate(() => document.querySelector(".chat-log li .chat-text")?.textContent)).toBe(XSS);
    expect(await page.evaluate(() => document.querySelector(".chat-log li .chat-nick")?.textContent)).toBe("<b>mallory</b>");
    expect(await page.evaluate(() => document.querySelectorAll(".chat-log img, .chat-log b").length)).toBe(0);
    expect(await page.evaluate(() => window.pwned)).toBeUndefined();

    // A second tab of the same browser shares the client id: still two viewers, not three.
    const tab = await browser.newPage();
    await tab.goto(`${edge.url}/watch/${id}`);
    await tab.waitForFunction(() => document.querySelectorAll(".chat-log li").length === 1);
    await viewer.probe.until("presence 2", 10_000, () => viewer.probe.all("presence").find((p) => p.viewers === 2));
    await page.waitForFunction(() => document.querySelector(".chat-viewers")?.textContent === "2 watching", undefined, { timeout: 10_000 });
    expect(viewer.probe.all("presence").some((p) => p.viewers > 2)).toBe(false);

    await page.click(".chat-reaction[aria-label=heart]");
    const reactions = await viewer.probe.next("reactions");
    expect(reactions.counts).toEqual({ heart: 1 });

    viewer.probe.send({ type: "chat", text: "delete me" });
    const doomed = await viewer.probe.nextChat();
    await tab.waitForFunction(() => document.querySelectorAll(".chat-log li").length === 2);
    await screenshot(tab, "chat-panel");
    const res = await fetch(`${edge.url}/api/streams/${id}/chat/messages/${doomed.id}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${edge.adminToken}` },
    });
    expect(res.status).toBe(204);
    await tab.waitForFunction(() => document.querySelectorAll(".chat-log li").length === 1);

    expect(browser.errors().filter((e) => e.kind === "pageerror")).toEqual([]);
    viewer.socket.close();
    await tab.close();
  });
});
