import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeClient } from "../../ingest-node/edge-client";
import type { IngestEvent, IngestHealth, PartialPlaylistNotice } from "../../workers/shared/ingest-api";
import { freePort } from "./ingest-fixtures";

/** The edge client against a scripted HTTP server: each request takes the next [status, body] answer. */
describe("edge client", () => {
  let server: Server;
  let baseUrl: string;
  const answers: [number, string][] = [];
  const seen: { path: string; authorization: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      seen.push({ path: req.url!, authorization: req.headers.authorization ?? "", body });
      const [status, text] = answers.shift() ?? [500, "no answer scripted"];
      res.writeHead(status, { "content-type": "application/json" }).end(status === 204 ? undefined : text);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () => new EdgeClient({ baseUrl, secret: "s3cret", retryDelayMs: 10 });
  const answer = (...scripted: [number, string][]) => {
    answers.length = 0;
    seen.length = 0;
    answers.push(...scripted);
  };

  it("authorizes a key with the shared secret, and tells an unknown key apart", async () => {
    answer([200, '{"streamId":"abcdefghijkl"}'], [403, '{"error":"unknown or revoked stream key"}']);
    expect(await client().authorize("sk_1")).toEqual({ ok: true, streamId: "abcdefghijkl", record: false });
    expect(await client().authorize("sk_2")).toEqual({ ok: false, reason: "unknown or revoked stream key" });
    expect(seen[0]).toEqual({ path: "/internal/ingest/authorize", authorization: "Bearer s3cret", body: '{"streamKey":"sk_1"}' });
  });

  it("passes on whether the stream records, false from an edge that does not say", async () => {
    answer([200, '{"streamId":"abcdefghijkl","record":true}'], [200, '{"streamId":"abcdefghijkl","record":false}'], [200, '{"streamId":"abcdefghijkl"}']);
    expect(await client().authorize("sk_1")).toEqual({ ok: true, streamId: "abcdefghijkl", record: true });
    expect(await client().authorize("sk_1")).toEqual({ ok: true, streamId: "abcdefghijkl", record: false });
    expect(await client().authorize("sk_1")).toEqual({ ok: true, streamId: "abcdefghijkl", record: false });
    answer([200, '{"streamId":"abcdefghijkl","record":"yes"}']);
    await expect(client().authorize("sk_1")).rejects.toThrow(/without a valid streamId/);
  });

  it("says which setting is wrong when the edge refuses the secret or cannot be reached", async () => {
    answer([401, "{}"]);
    await expect(client().authorize("sk_1")).rejects.toThrow(/ONAIR_INGEST_SECRET must equal the Worker's INGEST_SECRET/);
    const nobody = new EdgeClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, secret: "x" });
    await expect(nobody.authorize("sk_1")).rejects.toThrow(/could not reach the edge .*ECONNREFUSED.*ONAIR_EDGE_URL/);
    answer([200, '{"streamId":"NOT VALID"}']);
    await expect(client().authorize("sk_1")).rejects.toThrow(/without a valid streamId/);
  });

  it("retries an event through transient failures, and reports a revoked stream", async () => {
    answer([503, "busy"], [502, "busy"], [204, ""]);
    expect(await client().sendEvent({ streamId: "abcdefghijkl", sessionId: "sess01", type: "idle" })).toBe("recorded");
    expect(seen).toHaveLength(3);
    answer([403, '{"error":"revoked"}']);
    expect(await client().sendEvent({ streamId: "abcdefghijkl", sessionId: "sess01", type: "live", renditions: ["720p"] })).toBe("revoked");
    expect(JSON.parse(seen[0]!.body)).toEqual({ streamId: "abcdefghijkl", sessionId: "sess01", type: "live", renditions: ["720p"] });
  });

  it("announces a stored playlist once, never retrying: the next segment's notice supersedes it", async () => {
    const notice = { streamId: "abcdefghijkl", sessionId: "sess01", rendition: "720p", mediaSequence: 42 };
    answer([204, ""], [503, "busy"], [204, ""]);
    await client().playlistStored(notice);
    expect(seen[0]).toEqual({ path: "/internal/ingest/playlists", authorization: "Bearer s3cret", body: JSON.stringify(notice) });
    await expect(client().playlistStored(notice)).rejects.toThrow(/HTTP 503/);
    expect(seen).toHaveLength(2);
  });

  it("sends a partial playlist once, never retrying: the next part's notice supersedes it", async () => {
    const notice: PartialPlaylistNotice = {
      streamId: "abcdefghijkl", sessionId: "sess01", rendition: "720p", lastSegment: 6, lastPartSegment: 7, lastPart: 1, ended: false,
      playlist: '#EXTM3U\n#EXT-X-PART:DURATION=0.500000,URI="seg-00007.p1.m4s"\n',
    };
    answer([204, ""], [503, "busy"], [204, ""]);
    await client().partialPlaylist(notice);
    expect(seen[0]).toEqual({ path: "/internal/ingest/parts", authorization: "Bearer s3cret", body: JSON.stringify(notice) });
    await expect(client().partialPlaylist(notice)).rejects.toThrow(/HTTP 503/);
    expect(seen).toHaveLength(2);
    answer([413, '{"error":"body too large"}']);
    await expect(client().partialPlaylist(notice)).rejects.toThrow(/HTTP 413: .*body too large/);
  });

  it("sends a health report once, whatever the answer: the next report replaces it", async () => {
    const health: IngestHealth = {
      inputKbps: 2500.5, inputFps: 30, keyframeIntervalSeconds: 2, encoderSpeed: 1.02, lagSeconds: 0.4, renditions: ["audio", "720p"], shed: [],
      droppedSegments: 0, ladder: { topRung: "passthrough", reason: "passthrough: H.264 High, keyframes every 2.00 s" }, measuredAt: "2026-01-01T00:00:00.000Z",
    };
    const event: IngestEvent = { streamId: "abcdefghijkl", sessionId: "sess01", type: "health", health };
    answer([503, "busy"], [204, ""]);
    await expect(client().sendEvent(event, { attempts: 1 })).rejects.toThrow(/HTTP 503/);
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0]!.body)).toEqual(event);
  });

  it("does not retry an event the edge rejects as malformed", async () => {
    answer([400, '{"error":"bad"}'], [204, ""]);
    await expect(client().sendEvent({ streamId: "abcdefghijkl", sessionId: "s", type: "idle" })).rejects.toThrow(/HTTP 400/);
    expect(seen).toHaveLength(1);
  });
});
