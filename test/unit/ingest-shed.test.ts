import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestHealth } from "../../workers/shared/ingest-api";
import { masterPlaylistKey, PART_FILE_PATTERN } from "../../workers/shared/layout";
import type { IngestNode } from "../../ingest-node/ingest-node";
import { X264, type VideoEncoder } from "../../ingest-node/transcoder/encoders";
import { captureLogger, publish, RecordingStore, startFakeEdge, startInProcessIngest, waitFor, type FakeEdge, type InProcessIngest } from "./ingest-fixtures";

/**
 * Keeping up with live on a machine that cannot encode the ladder: a real ffmpeg with an x264 preset far
 * too slow for two cores, a 1080p30 publish over real RTMP. The session must shed rungs, restart ffmpeg
 * on the smaller ladder, rewrite the stored master, and from then on the lag and the spool must stop
 * growing. Assertions are on lag and backlog growth, never on how fast anything ran.
 */
const SECRET = "test-ingest-secret";
const STREAM = "starvedstrm1";
const KEY = `sk_${"c3".repeat(20)}`;
const HEALTH_INTERVAL_MS = 1000;
/** below the default 3 s: each shed comes sooner, so the test settles sooner */
const MAX_LAG_SECONDS = 2;
const SETTLED_REPORTS = 6;

/** x264 as the ingest node runs it, but at the costliest preset: every encoded rung at a fraction of real time. */
const STARVED_X264: VideoEncoder = {
  name: "x264-veryslow",
  codec: X264.codec,
  options: ["-preset", "veryslow", "-sc_threshold", "0", "-flags", "+cgop"],
};

describe("ingest node: shedding rungs to keep up with live", () => {
  let edge: FakeEdge;
  let store: RecordingStore;
  let node: IngestNode;
  let workDir: string;
  const log = captureLogger();
  let ingest: InProcessIngest;

  beforeAll(async () => {
    edge = await startFakeEdge(SECRET, { [KEY]: STREAM });
    store = new RecordingStore();
    ingest = await startInProcessIngest({
      name: "shed",
      secret: SECRET,
      edge,
      store,
      log,
      env: { ONAIR_RECONNECT_WINDOW_SECONDS: "0" },
      tuning: { encoder: STARVED_X264, healthIntervalMs: HEALTH_INTERVAL_MS, speed: { maxLagSeconds: MAX_LAG_SECONDS } },
    });
    ({ node, workDir } = ingest);
  });

  afterAll(async () => {
    await ingest?.stop();
  });

  it("sheds the costliest rungs, rewrites the master, and the lag and the spool stop growing", async () => {
    const started = Date.now();
    // ultrafast: the publisher's own encode leaves the two cores to the ingest node.
    const publisher = publish({ url: `${node.rtmpUrl}/${KEY}`, seconds: 120, width: 1920, height: 1080, fps: 30, preset: "ultrafast" });
    const spoolSamples: number[] = [];
    const sampler = setInterval(() => void countSpooled(join(workDir, STREAM)).then((n) => spoolSamples.push(n)), 500);
    try {
      // The first run is silent until it has encoded its first seconds of media (ffmpeg's first progress
      // line), which at a fraction of real time takes a while: it is shed at that line.
      const shedLogged = () => log.lines.filter((l) => l.includes("falling behind live; shedding rungs"));
      await waitFor(() => shedLogged().length > 0, 60_000);
      // Settled: reports in a row with the same renditions since the last shed (there may be more than one).
      const reports = () => edge.eventsOf(STREAM, "health").map((e) => e.health!);
      const settled = () => trailingSameLadder(reports());
      await waitFor(() => settled().length >= SETTLED_REPORTS, 60_000);
      publisher.stop();

      const all = reports();
      const tail = settled();
      const shedReport = all.find((h) => h.shed.length > 0)!;
      const decisions = shedLogged().map((l) => JSON.parse(l) as { dropped: string[]; lagSeconds: number; msg: string });
      const live = edge.eventsOf(STREAM, "live")[0]!;
      console.log(
        [
          `shed: ${decisions.length} decision(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          ...decisions.map((d) => `  ${d.msg} (lag ${d.lagSeconds} s)`),
          `  live renditions ${live.renditions!.join(",")}; now ${tail[0]!.renditions.join(",")}`,
          `  lag while settled: ${tail.map((h) => h.lagSeconds).join(", ")}`,
          `  speed while settled: ${tail.map((h) => h.encoderSpeed).join(", ")}`,
          `  spooled segments, max ${Math.max(...spoolSamples)} over ${spoolSamples.length} samples`,
        ].join("\n"),
      );

      // The decision: costliest encoded rungs first, the copied source never, said in the health reports.
      expect(decisions[0]!.dropped).toContain("720p");
      expect(shedReport.shed.length).toBeGreaterThan(0);
      expect(tail[0]!.shed).toEqual(decisions.flatMap((d) => d.dropped));
      expect(tail[0]!.renditions).not.toEqual(expect.arrayContaining(tail[0]!.shed));
      expect(tail[0]!.renditions).toContain("1080p");
      expect(tail[0]!.ladder.topRung).toBe("passthrough");

      // The stored master names only what is still produced.
      const master = store.text(masterPlaylistKey(STREAM))!;
      const variants = master.split("\n").filter((l) => /^[^#].*\/index\.m3u8$/.test(l));
      expect(variants.length).toBe(tail[0]!.renditions.filter((r) => r !== "audio").length);
      expect(variants.length).toBeLessThan(5);
      for (const shed of tail[0]!.shed) expect(master).not.toContain(`/${shed}/`);

      // Keeping up: the lag is bounded by the shedding threshold, and over the settled stretch (6+ s) it
      // did not grow: a ladder that could not keep up would add a fraction of a second per report.
      const lags = tail.map((h) => h.lagSeconds);
      expect(Math.max(...lags)).toBeLessThanOrEqual(MAX_LAG_SECONDS + 1);
      expect(lags.at(-1)! - lags[0]!).toBeLessThan(1);
      // The spool holds finished segments until they are stored: a handful per rendition, never a backlog.
      expect(Math.max(...spoolSamples)).toBeLessThanOrEqual(3 * 6);
    } finally {
      clearInterval(sampler);
      publisher.stop();
      await publisher.exited;
    }
    await waitFor(() => edge.eventsOf(STREAM, "idle").length > 0, 20_000);
    // LL-HLS parts, of the shed renditions too, are deleted once they are of no use.
    const partsStored = store.puts.filter((p) => PART_FILE_PATTERN.test(p.key.split("/").at(-1)!)).map((p) => p.key.split("/").at(-2));
    expect(new Set(partsStored).size).toBeGreaterThan(1);
    expect([...store.objects.keys()].filter((k) => PART_FILE_PATTERN.test(k.split("/").at(-1)!))).toEqual([]);
  }, 150_000);
});

/** The newest reports that share the latest report's renditions (since the last shed). */
function trailingSameLadder(reports: IngestHealth[]): IngestHealth[] {
  const last = reports.at(-1);
  if (!last || last.shed.length === 0) return [];
  let i = reports.length;
  while (i > 0 && reports[i - 1]!.renditions.join() === last.renditions.join()) i -= 1;
  return reports.slice(i);
}

/** Segment files ffmpeg finished (or is writing) that the uploader has not stored and removed yet. */
async function countSpooled(dir: string): Promise<number> {
  const files = await readdir(dir, { recursive: true }).catch(() => []);
  return files.filter((f) => String(f).endsWith(".m4s")).length;
}
