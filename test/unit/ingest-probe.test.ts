import { describe, expect, it } from "vitest";
import { keyframeSpacing } from "../../ingest-node/probe/source-probe";

describe("keyframe spacing from probed packets", () => {
  it("measures seconds and frames between keyframes in decode order, and the open gap after the last", () => {
    // decode order with B-frames: presentation times are not monotonic
    const packets = [
      { pts_time: 0.033, flags: "K_" }, { pts_time: 0.1, flags: "__" }, { pts_time: 0.067, flags: "__" },
      { pts_time: 2.033, flags: "K_" }, { pts_time: 2.1, flags: "__" }, { pts_time: 2.067, flags: "__" }, { pts_time: 2.133, flags: "__" },
      { pts_time: 4.034, flags: "K_" }, { pts_time: 4.5, flags: "__" }, { flags: "__" },
    ];
    expect(keyframeSpacing(packets)).toEqual({ intervalsSeconds: [2, 2.001], intervalsFrames: [3, 4], tailSeconds: 0.466, windowSeconds: 4.5 });
  });

  it("reports no interval when only one keyframe came, and ignores frames before the first", () => {
    const spacing = keyframeSpacing([{ pts_time: 0, flags: "__" }, { pts_time: 0.5, flags: "K_" }, { pts_time: 4, flags: "__" }]);
    expect(spacing).toMatchObject({ intervalsSeconds: [], intervalsFrames: [], tailSeconds: 3.5 });
  });
});
