import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import type { AuthorizeResult } from "../../ingest-node/edge-client";
import { RtmpServer, type Publisher } from "../../ingest-node/rtmp/rtmp-server";
import { captureLogger, freePort, publish, waitFor } from "./ingest-fixtures";

const run = promisify(execFile);
const KEY = `sk_${"d4".repeat(20)}`;
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

/** The RTMP front door on its own: who gets in, who is turned away, and when the sessions hear of it. */
describe("RTMP server", () => {
  let server: RtmpServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function start(authorize: (key: string) => Promise<AuthorizeResult>, host = "127.0.0.1", maxConnectionsPerAddress?: number) {
    const { logger, lines } = captureLogger();
    const port = await freePort();
    server = new RtmpServer({ host, port, authorize, logger, maxConnectionsPerAddress });
    const admitted: Publisher[] = [];
    const left: Publisher[] = [];
    server.on("publisher-admitted", (p) => admitted.push(p));
    server.on("publisher-left", (p) => left.push(p));
    await server.start();
    return { server, port, lines, admitted, left };
  }

  it("reports a busy port to its caller instead of exiting the process, and can start again", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const port = (blocker.address() as { port: number }).port;
    const { logger } = captureLogger();
    const busy = new RtmpServer({ host: "127.0.0.1", port, authorize: async () => ({ ok: false, reason: "x" }), logger });
    await expect(busy.start()).rejects.toThrow(/cannot listen for RTMP on 127.0.0.1:\d+ \(EADDRINUSE\).*ONAIR_RTMP_PORT/);
    blocker.close();
    const { server: again } = await start(async () => ({ ok: false, reason: "x" }));
    expect(again.url).toMatch(/^rtmp:\/\/127.0.0.1:\d+\/live$/);
  });

  it("refuses a key it cannot check (edge down) and says why", async () => {
    const { server, lines, admitted } = await start(async () => {
      throw new Error("could not reach the edge at http://127.0.0.1:1/x (ECONNREFUSED)");
    });
    expect(await publish({ url: `${server.url}/${KEY}`, seconds: 5 }).exited).not.toBe(0);
    expect(admitted).toEqual([]);
    expect(lines.join("\n")).toMatch(/publish refused: the stream key could not be checked: could not reach the edge/);
  }, 20_000);

  it("forgets a publisher that leaves while its key is being checked, and admits its next attempt", async () => {
    let slow = true;
    const { server, admitted, left } = await start(async () => {
      if (slow) await new Promise((resolve) => setTimeout(resolve, 2500));
      return { ok: true, streamId: "abcdefghijkl" };
    });
    expect(await publish({ url: `${server.url}/${KEY}`, seconds: 0.5 }).exited).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2600));
    expect(admitted).toEqual([]);
    expect(left).toEqual([]);

    slow = false;
    const again = publish({ url: `${server.url}/${KEY}`, seconds: 2 });
    await waitFor(() => admitted.length === 1, 5000);
    expect(admitted[0]).toMatchObject({ streamKey: KEY, streamId: "abcdefghijkl", remoteAddress: expect.stringMatching(/^127\.0\.0\.1:/) });
    expect(await again.exited).toBe(0);
    await waitFor(() => left.length === 1, 5000);
    expect(left[0]).toBe(admitted[0]);
  }, 20_000);

  it.skipIf(!lanAddress)("lets only loopback play a stream back", async () => {
    const { server, port, lines, admitted } = await start(async () => ({ ok: true, streamId: "abcdefghijkl" }), "0.0.0.0");
    const publisher = publish({ url: `rtmp://127.0.0.1:${port}/live/${KEY}`, seconds: 8 });
    await waitFor(() => admitted.length === 1, 5000);
    const probe = (host: string) =>
      run("ffprobe", ["-v", "error", "-rw_timeout", "3000000", "-show_entries", "stream=codec_type", "-of", "csv", `rtmp://${host}:${port}/live/${KEY}`]);
    await expect(probe(lanAddress!)).rejects.toBeDefined();
    expect(lines.join("\n")).toMatch(/play refused: only the ingest node's own ffmpeg may play streams back/);
    expect((await probe("127.0.0.1")).stdout).toContain("video");
    expect(server.playUrl(KEY)).toBe(`rtmp://127.0.0.1:${port}/live/${KEY}`);
    publisher.stop();
    await publisher.exited;
  }, 30_000);

  it("closes connections beyond the per-address cap at once, and counts them", async () => {
    const { port } = await start(async () => ({ ok: false, reason: "unused" }), "127.0.0.1", 3);
    const sockets = Array.from({ length: 5 }, () => connect(port, "127.0.0.1").on("error", () => {}));
    const closed = sockets.map((socket) => once(socket, "close").then(() => true));
    // The two over the cap are closed without a byte sent; the three within it wait for their handshake.
    const overCap = await Promise.all(closed.slice(3));
    expect(overCap).toEqual([true, true]);
    expect(server!.guard.closed.get("too many connections from one address")).toBe(2);
    expect(sockets.slice(0, 3).every((s) => !s.destroyed)).toBe(true);
    for (const socket of sockets) socket.destroy();
  });
});
