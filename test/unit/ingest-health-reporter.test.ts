import { afterEach, describe, expect, it, vi } from "vitest";
import type { IngestHealth } from "../../workers/shared/ingest-api";
import { HealthReporter, kbps, type SessionHealth } from "../../ingest-node/session/health-reporter";

const session: SessionHealth = {
  inputFps: 30,
  keyframeIntervalSeconds: 2,
  encoderSpeed: 1,
  lagSeconds: 0.2,
  renditions: ["audio", "720p"],
  shed: [],
  droppedSegments: 0,
  ladder: { topRung: "passthrough", reason: "passthrough: H.264 High, keyframes every 2.00 s" },
};

/** The health reporter alone: the input rate from a byte count, on a clock the test moves. */
describe("health reporter", () => {
  afterEach(() => vi.useRealTimers());

  it("measures the input rate over the time since the previous measurement", () => {
    let now = 1_000_000;
    let bytes = 0;
    const reporter = new HealthReporter({ intervalMs: 5000, inputBytes: () => bytes, session: () => session, report: () => {}, now: () => now });
    now += 5000;
    bytes += 5000 * 1000; // 1 MB/s for 5 s: 8,000 kbit/s
    expect(reporter.sample()).toEqual({ inputKbps: 8000, ...session, measuredAt: new Date(now).toISOString() });
    now += 2000;
    bytes += 250_000; // 1,000 kbit/s
    expect(reporter.sample()?.inputKbps).toBe(1000);
    // Too soon after the previous one to say; the window carries on to the next measurement.
    now += 50;
    expect(reporter.sample()?.inputKbps).toBeNull();
    now += 950;
    bytes += 125_000;
    expect(reporter.sample()?.inputKbps).toBe(1000);
    expect(kbps(-5, 1000)).toBe(0);
  });

  it("reports every interval once started, nothing before the session has figures, and stops", () => {
    vi.useFakeTimers();
    const reports: IngestHealth[] = [];
    let figures: SessionHealth | null = null;
    const reporter = new HealthReporter({ intervalMs: 5000, inputBytes: () => 0, session: () => figures, report: (h) => reports.push(h) });
    reporter.start();
    vi.advanceTimersByTime(5000);
    expect(reports).toEqual([]);
    figures = session;
    vi.advanceTimersByTime(15_000);
    expect(reports.map((r) => r.inputKbps)).toEqual([0, 0, 0]);
    reporter.stop();
    vi.advanceTimersByTime(15_000);
    expect(reports).toHaveLength(3);
  });
});
