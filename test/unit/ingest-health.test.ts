import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestEvent, IngestHealth } from "../../workers/shared/ingest-api";
import { sessionMasterKey, sessionMasterPath } from "../../workers/shared/layout";
import type { IngestNode } from "../../ingest-node/ingest-node";
import { captureLogger, publish, RecordingStore, registerStreamKey, startFakeEdge, startInProcessIngest, waitFor, type FakeEdge, type InProcessIngest } from "./ingest-fixtures";

/**
 * What the edge hears of a live session besides live/idle, with real node-media-server and ffmpeg: health
 * reports every interval (1 s here instead of HEALTH_INTERVAL_SECONDS) with the publisher's real figures,
 * and, for a stream the edge records, "recording-ready" after "idle", through an edge that blips.
 */
const SECRET = "test-ingest-secret";
const HEALTH_INTERVAL_MS = 1000;
const FPS = 30;
const KEYFRAME_SECONDS = 2;

describe("ingest node: health reports and recordings", () => {
  let edge: FakeEdge;
  let store: RecordingStore;
  let node: IngestNode;
  const log = captureLogger();
  let ingest: InProcessIngest;
  const streams: Record<string, string> = {};
  const keyFor = (stream: string) => registerStreamKey(streams, stream);

  beforeAll(async () => {
    edge = await startFakeEdge(SECRET, streams);
    store = new RecordingStore();
    ingest = await startInProcessIngest({
      name: "health",
      secret: SECRET,
      edge,
      store,
      log,
      env: { ONAIR_RECONNECT_WINDOW_SECONDS: "0" },
      tuning: { healthIntervalMs: HEALTH_INTERVAL_MS },
    });
    ({ node } = ingest);
  });

  afterAll(async () => {
    await ingest?.stop();
  });

  it("reports the publisher's real figures every interval while live, and the ladder decision with the live event", async () => {
    const stream = "healthstream";
    const publisher = publish({ url: `${node.rtmpUrl}/${keyFor(stream)}`, seconds: 60, fps: FPS, keyframeSeconds: KEYFRAME_SECONDS });
    await waitFor(() => edge.eventsOf(stream, "live").length > 0, 20_000);
    // Two reports the edge drops (a deploy in progress): each is lost, not retried; the next replaces it.
    edge.blip.health = 2;
    await waitFor(() => edge.eventsOf(stream, "health").length >= 5, 20_000);
    publisher.stop();
    await publisher.exited;
    await waitFor(() => edge.eventsOf(stream, "idle").length > 0, 20_000);

    const events = edge.eventsOf(stream);
    const types = events.map((e) => e.type);
    // live, then only health reports, then idle; never a recording for a stream that does not record.
    expect(types[0]).toBe("live");
    expect(types.at(-1)).toBe("idle");
    expect(new Set(types.slice(1, -1))).toEqual(new Set(["health"]));
    const [live] = events as [IngestEvent];
    const reports = events.filter((e) => e.type === "health").map((e) => e.health!);
    console.log(`health: ${reports.length} reports, e.g. ${JSON.stringify(reports.at(-2))}`);

    // The studio can say "passthrough: <reason>" from the live event alone.
    expect(live.renditions).toEqual(["audio", "720p", "480p", "360p", "144p"]);
    expect(live.health).toMatchObject({
      renditions: live.renditions,
      ladder: { topRung: "passthrough", reason: `passthrough: H.264 High, keyframes every ${KEYFRAME_SECONDS.toFixed(2)} s` },
      shed: [],
      droppedSegments: 0,
    });

    for (const health of [live.health!, ...reports]) expectPlausible(health);
    // Every report while the publisher was sending measured its bytes (the last may straddle its exit).
    for (const health of reports.slice(0, -1)) expect(health.inputKbps).toBeGreaterThan(100);
    // Once ffmpeg has been running a while, its speed is known and it keeps up with this small ladder.
    const settled = reports.slice(2, -1);
    expect(settled.length).toBeGreaterThanOrEqual(2);
    for (const health of settled) {
      expect(health.encoderSpeed).not.toBeNull();
      expect(health.encoderSpeed!).toBeGreaterThan(0);
    }
    const lost = edge.refused.filter((e) => e.streamId === stream);
    expect(lost.map((e) => e.type)).toEqual(["health", "health"]);
    expect(reports.map((h) => h.measuredAt)).not.toContain(lost[0]!.health!.measuredAt);
    expect(reports.map((h) => h.measuredAt)).not.toContain(lost[1]!.health!.measuredAt);
    const times = reports.map((h) => Date.parse(h.measuredAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
  }, 60_000);

  it("announces a recorded session's recording after idle, through an edge that blips", async () => {
    const stream = "recordedstrm";
    edge.recorded.add(stream);
    const publisher = publish({ url: `${node.rtmpUrl}/${keyFor(stream)}`, seconds: 60 });
    await waitFor(() => edge.eventsOf(stream, "live").length > 0, 20_000);
    // A few segments' worth (three and a bit), so the recording has some length.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    edge.blip["recording-ready"] = 2;
    publisher.stop();
    await publisher.exited;
    await waitFor(() => edge.eventsOf(stream, "recording-ready").length > 0, 30_000);

    const events = edge.eventsOf(stream).filter((e) => e.type !== "health");
    expect(events.map((e) => e.type)).toEqual(["live", "idle", "recording-ready"]);
    const { sessionId } = events[0]!;
    const { recording } = events[2]!;
    expect(edge.refused.filter((e) => e.streamId === stream).map((e) => e.type)).toEqual(["recording-ready", "recording-ready"]);
    expect(recording).toMatchObject({ masterPath: sessionMasterPath(stream, sessionId), renditions: expect.arrayContaining(["audio", "720p", "144p"]) });
    expect(recording!.durationSeconds).toBeGreaterThan(4);
    expect(Date.parse(recording!.endedAt)).toBeGreaterThan(Date.parse(recording!.startedAt));
    // What the recording's URL names is in the store.
    expect(store.text(sessionMasterKey(stream, sessionId))).toMatch(/^#EXTM3U\n/);
    expect(log.lines.join("\n")).toMatch(/"record":true,"msg":"publish admitted"/);
  }, 60_000);
});

function expectPlausible(health: IngestHealth): void {
  expect(health.inputFps).not.toBeNull();
  expect(Math.abs(health.inputFps! - FPS)).toBeLessThanOrEqual(1);
  expect(health.keyframeIntervalSeconds).not.toBeNull();
  expect(Math.abs(health.keyframeIntervalSeconds! - KEYFRAME_SECONDS)).toBeLessThanOrEqual(0.1);
  expect(health.inputKbps).not.toBeNull();
  expect(health.inputKbps!).toBeGreaterThanOrEqual(0);
  expect(health.inputKbps!).toBeLessThan(50_000);
  expect(health.lagSeconds).toBeGreaterThanOrEqual(0);
  expect(health.renditions).toEqual(["audio", "720p", "480p", "360p", "144p"]);
  expect(health.shed).toEqual([]);
  expect(health.droppedSegments).toBe(0);
  expect(health.ladder.topRung).toBe("passthrough");
  expect(new Date(health.measuredAt).toISOString()).toBe(health.measuredAt);
}
