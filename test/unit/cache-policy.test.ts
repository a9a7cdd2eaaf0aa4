import { describe, expect, it } from "vitest";
import {
  cacheControlFor,
  DYNAMIC_CACHE_CONTROL,
  ERROR_CACHE_CONTROL,
  NOT_FOUND_CACHE_CONTROL,
} from "../../workers/shared/cache-policy";

// Byte-exact: Workers Cache is driven by nothing but these strings, and wrangler dev does not emulate it.
describe("cacheControlFor", () => {
  it.each([
    [{ kind: "media-segment" }, "public, max-age=31536000, immutable"],
    [{ kind: "init-segment" }, "public, max-age=31536000, immutable"],
    [{ kind: "master-playlist" }, "public, max-age=2, s-maxage=2, stale-if-error=0"],
    [{ kind: "poster" }, "public, max-age=10, s-maxage=10"],
    [{ kind: "media-playlist" }, "public, max-age=1, s-maxage=1, stale-if-error=0"],
    [{ kind: "media-playlist", ended: false }, "public, max-age=1, s-maxage=1, stale-if-error=0"],
    [{ kind: "media-playlist", ended: true }, "public, max-age=86400"],
    [{ kind: "media-playlist", targetDurationSeconds: 6 }, "public, max-age=3, s-maxage=3, stale-if-error=0"],
    [{ kind: "media-playlist", targetDurationSeconds: 5 }, "public, max-age=2, s-maxage=2, stale-if-error=0"],
    [{ kind: "media-playlist", targetDurationSeconds: 1 }, "public, max-age=1, s-maxage=1, stale-if-error=0"],
    [{ kind: "media-playlist", ended: true, targetDurationSeconds: 6 }, "public, max-age=86400"],
    [{ kind: "dash-manifest" }, "public, max-age=1, s-maxage=1, stale-if-error=0"],
    // The stream's MPD key outlives the session: a session's last MPD is still cached like a live one.
    [{ kind: "dash-manifest", ended: true }, "public, max-age=1, s-maxage=1, stale-if-error=0"],
  ] as const)("%j -> %s", (input, expected) => {
    expect(cacheControlFor(input)).toBe(expected);
  });

  it("keeps a live playlist cached for no longer than half a segment, and at least a second", () => {
    for (let target = 1; target <= 12; target += 1) {
      const maxAge = Number(/max-age=(\d+)/.exec(cacheControlFor({ kind: "media-playlist", targetDurationSeconds: target }))![1]);
      expect(maxAge).toBeGreaterThanOrEqual(1);
      expect(maxAge).toBeLessThanOrEqual(Math.max(1, target / 2));
    }
  });
});

describe("fixed policies", () => {
  it("caches a 404 for one second and never caches errors or dynamic answers", () => {
    expect(NOT_FOUND_CACHE_CONTROL).toBe("public, max-age=1, s-maxage=1");
    expect(ERROR_CACHE_CONTROL).toBe("no-store");
    expect(DYNAMIC_CACHE_CONTROL).toBe("no-store");
  });
});
