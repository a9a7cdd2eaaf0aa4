import { describe, expect, it } from "vitest";
import { chooseLadder, type Ladder, type SourceInfo } from "../../ingest-node/ladder/ladder";
import { rungCost, shedRungs, SpeedMonitor } from "../../ingest-node/transcoder/speed-monitor";

const source: SourceInfo = { width: 1920, height: 1080, fps: { num: 30, den: 1 }, hasAudio: true };
const passthrough: SourceInfo = {
  ...source,
  video: { codec: "h264", profile: "High", pixFmt: "yuv420p" },
  keyframes: { intervalsSeconds: [2], intervalsFrames: [60], tailSeconds: 1, windowSeconds: 4.5 },
};
const cost = (ladder: Ladder) => ladder.video.reduce((sum, r) => sum + rungCost(r), 0);
const progress = (media: number) => ({ speed: null, outTimeSeconds: media, fps: null });

/** An encoder that does `capacity` pixels per second of work: its speed follows the ladder's cost. */
function simulate(ladder: Ladder, capacity: number, seconds: number) {
  let monitor = new SpeedMonitor(ladder);
  let media = 0;
  let current = ladder;
  let maxLag = 0;
  const shed: string[] = [];
  for (let wall = 0; wall <= seconds; wall += 0.5) {
    const decision = monitor.observe(progress(media), wall * 1000);
    maxLag = Math.max(maxLag, monitor.current.lagSeconds);
    if (decision.action === "shed") {
      // what the session does: a new ffmpeg on the smaller ladder, from the live edge
      current = decision.ladder;
      shed.push(...decision.dropped);
      monitor = new SpeedMonitor(current, {}, shed);
    }
    media += 0.5 * Math.min(1, capacity / Math.max(1, cost(current)));
  }
  return { current, maxLag, shed, health: monitor.current };
}

describe("keeping up with live", () => {
  it("keeps every rung while encoding keeps up, whatever the progress lines' jitter", () => {
    const monitor = new SpeedMonitor(chooseLadder(source));
    for (let t = 0; t < 60; t += 0.5) expect(monitor.observe(progress(t + (t % 1 ? 0.2 : -0.2)), t * 1000).action).toBe("keep");
    expect(monitor.current.lagSeconds).toBeLessThan(1);
  });

  it("sheds the costliest encoded rungs once the lag passes the bound, and the lag stays bounded", () => {
    const ladder = chooseLadder(source);
    // a machine that manages 60% of this ladder
    const { current, maxLag, shed, health } = simulate(ladder, cost(ladder) * 0.6, 120);
    expect(shed).toEqual(["1080p"]);
    expect(current.video.map((v) => v.name)).toEqual(["720p", "480p", "360p", "144p"]);
    expect(maxLag).toBeLessThan(3.6);
    expect(health).toMatchObject({ lagSeconds: 0, shed: ["1080p"] });
  });

  it("never drops a copied top rung, and keeps one rung however slow the machine", () => {
    const ladder = chooseLadder(passthrough);
    const slow = simulate(ladder, cost(ladder) * 0.3, 120);
    expect(slow.current.video[0]!.passthrough).toBe(true);
    expect(slow.shed[0]).toBe("720p");
    expect(slow.maxLag).toBeLessThan(3.6);
    expect(shedRungs(chooseLadder(source), 0).ladder.video.map((v) => v.name)).toEqual(["144p"]);
  });

  it("reports the speed over the last few seconds: steady through jitter, and following a slowdown", () => {
    const monitor = new SpeedMonitor(chooseLadder(source), { maxLagSeconds: 1000 });
    let media = 0;
    for (let t = 0; t <= 20; t += 0.5) {
      monitor.observe(progress(media + (t % 1 ? 0.2 : -0.2)), t * 1000);
      if (t >= 5) expect(Math.abs(monitor.current.speed! - 1)).toBeLessThan(0.11);
      media += 0.5;
    }
    for (let t = 20.5; t <= 30; t += 0.5) {
      media += 0.25;
      monitor.observe(progress(media), t * 1000);
    }
    expect(monitor.current.speed).toBeCloseTo(0.5, 5);
    // Measured from the line closest to live: t=20.5 with 20.75 s of media (0.25 s ahead); at t=30, 25.5 s.
    expect(monitor.current.lagSeconds).toBeCloseTo(30 - 25.5 + 0.25, 5);
  });

  it("does not count a run's start-up delay as lag, only the distance to live growing", () => {
    const ladder = chooseLadder(source);
    // On time: the first line 3 s after ffmpeg started, 0.5 s of media in, then real time. Never shed.
    const onTime = new SpeedMonitor(ladder);
    for (let t = 3; t < 30; t += 0.5) expect(onTime.observe(progress(t - 2.5), t * 1000).action).toBe("keep");
    expect(onTime.current).toMatchObject({ lagSeconds: 0, speed: 1 });
    // Too slow: from the same start, 0.3 s of media per second. Shed once the distance grew past 3 s.
    const slow = new SpeedMonitor(ladder);
    let decision: ReturnType<SpeedMonitor["observe"]> = { action: "keep" };
    let t = 3;
    for (; decision.action === "keep" && t < 30; t += 0.5) decision = slow.observe(progress(0.5 + (t - 3) * 0.3), t * 1000);
    expect(decision).toMatchObject({ action: "shed", reason: expect.stringMatching(/^encoding ran at 0\.30x real time, 3\.\d s behind: dropping 1080p/) });
    expect(t).toBeLessThan(9);
  });

  it("says why it shed, once per run", () => {
    const monitor = new SpeedMonitor(chooseLadder(source));
    const decisions = [0, 2, 4, 6, 8, 10].map((wall) => monitor.observe(progress(wall * 0.5), wall * 1000));
    expect(decisions.slice(0, 4).every((d) => d.action === "keep")).toBe(true);
    expect(decisions[4]).toMatchObject({ action: "shed", reason: "encoding ran at 0.50x real time, 4.0 s behind: dropping 1080p, 720p" });
    expect(decisions[5]!.action).toBe("keep");
  });
});
