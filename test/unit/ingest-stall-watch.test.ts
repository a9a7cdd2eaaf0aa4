import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StallWatch } from "../../ingest-node/session/stall-watch";

/** The session's stall rules on a fake clock: which silence ends a session, which replaces ffmpeg. */
describe("stall watch", () => {
  let bytes = 0;
  const stalled: number[] = [];
  const stuck: number[] = [];
  const watch = (withBytes = true) =>
    new StallWatch({ inputBytes: withBytes ? () => bytes : undefined, onStalled: (ms) => stalled.push(ms), onStuck: (ms) => stuck.push(ms) });

  beforeEach(() => {
    vi.useFakeTimers();
    bytes = 0;
    stalled.length = 0;
    stuck.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it("calls a publish stalled after 15 s with neither progress nor bytes", () => {
    const w = watch();
    w.start();
    vi.advanceTimersByTime(14_000);
    expect(stalled).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(stalled).toEqual([15_000]);
    w.stop();
  });

  it("does not while ffmpeg reports progress", () => {
    const w = watch();
    w.start();
    for (let s = 0; s < 30; s++) {
      vi.advanceTimersByTime(1000);
      w.progress();
    }
    expect(stalled).toEqual([]);
    expect(stuck).toEqual([]);
    w.stop();
  });

  it("calls ffmpeg stuck, once a minute, when the publisher sends but ffmpeg reports nothing", () => {
    const w = watch();
    w.start();
    for (let s = 0; s < 130; s++) {
      bytes += 1000;
      vi.advanceTimersByTime(1000);
    }
    expect(stalled).toEqual([]);
    expect(stuck).toEqual([60_000, 60_000]);
    w.stop();
  });

  it("without a byte count, takes ffmpeg's silence for the publisher's", () => {
    const w = watch(false);
    w.start();
    vi.advanceTimersByTime(15_000);
    expect(stalled).toHaveLength(1);
    w.stop();
  });

  it("checks nothing once stopped, and starts afresh", () => {
    const w = watch();
    w.start();
    vi.advanceTimersByTime(10_000);
    w.stop();
    vi.advanceTimersByTime(30_000);
    expect(stalled).toEqual([]);
    w.start();
    vi.advanceTimersByTime(10_000);
    expect(stalled).toEqual([]);
    w.stop();
  });
});
