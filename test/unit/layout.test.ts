import { describe, expect, it } from "vitest";
import {
  CONTENT_TYPES,
  dashManifestKey,
  dashPath,
  hlsPath,
  initFileName,
  masterPlaylistKey,
  parseMediaPath,
  partFileName,
  posterKey,
  renditionKey,
  segmentFileName,
  sessionMasterKey,
  sessionMasterPath,
  sessionPrefix,
  streamPrefix,
  urlPathForKey,
  variantUri,
  watchPath,
} from "../../workers/shared/layout";

const STREAM = "abcdefghij12";
const SESSION = "sess000001";

describe("object keys", () => {
  it("builds every key under live/<streamId>/", () => {
    expect(streamPrefix(STREAM)).toBe("live/abcdefghij12/");
    expect(masterPlaylistKey(STREAM)).toBe("live/abcdefghij12/master.m3u8");
    expect(posterKey(STREAM)).toBe("live/abcdefghij12/poster.jpg");
    expect(sessionPrefix(STREAM, SESSION)).toBe("live/abcdefghij12/sess000001/");
    expect(renditionKey(STREAM, SESSION, "720p", initFileName(1))).toBe("live/abcdefghij12/sess000001/720p/init-1.mp4");
    expect(variantUri(SESSION, "480p")).toBe("sess000001/480p/index.m3u8");
    expect(variantUri(null, "480p")).toBe("480p/index.m3u8");
    expect(hlsPath(STREAM)).toBe("/live/abcdefghij12/master.m3u8");
    expect(dashPath(STREAM)).toBe("/live/abcdefghij12/manifest.mpd");
    expect(sessionMasterPath(STREAM, SESSION)).toBe("/live/abcdefghij12/sess000001/master.m3u8");
    expect(watchPath(STREAM)).toBe("/watch/abcdefghij12");
  });

  it("pads segment numbers to five digits and grows past them", () => {
    expect(segmentFileName(1)).toBe("seg-00001.m4s");
    expect(segmentFileName(123456)).toBe("seg-123456.m4s");
  });

  it("names a segment's parts after it, from part 0", () => {
    expect(partFileName(7, 0)).toBe("seg-00007.p0.m4s");
    expect(partFileName(123456, 12)).toBe("seg-123456.p12.m4s");
  });

  it("parses back every key it builds", () => {
    const cases = [
      [masterPlaylistKey(STREAM), "master-playlist"],
      [posterKey(STREAM), "poster"],
      [dashManifestKey(STREAM), "dash-manifest"],
      [sessionMasterKey(STREAM, SESSION), "master-playlist"],
      [renditionKey(STREAM, SESSION, "720p", "index.m3u8"), "media-playlist"],
      [renditionKey(STREAM, SESSION, "audio", initFileName(1)), "init-segment"],
      [renditionKey(STREAM, SESSION, "audio", initFileName(12)), "init-segment"],
      [renditionKey(STREAM, SESSION, "1080p", segmentFileName(42)), "media-segment"],
      [renditionKey(STREAM, SESSION, "1080p", partFileName(42, 3)), "media-segment"],
    ] as const;
    for (const [key, kind] of cases) {
      const parsed = parseMediaPath(urlPathForKey(key));
      expect(parsed).toMatchObject({ ok: true, object: { key, kind, streamId: STREAM } });
    }
  });

  it("reports session and rendition for rendition files", () => {
    expect(parseMediaPath(`/live/${STREAM}/${SESSION}/360p/seg-00007.m4s`)).toEqual({
      ok: true,
      object: { key: `live/${STREAM}/${SESSION}/360p/seg-00007.m4s`, kind: "media-segment", streamId: STREAM, sessionId: SESSION, rendition: "360p" },
    });
  });
});

describe("parseMediaPath refuses", () => {
  it.each([
    ["/live/../x", "empty or dot segment"],
    [`/live/${STREAM}/./master.m3u8`, "empty or dot segment"],
    [`/live/${STREAM}//master.m3u8`, "empty or dot segment"],
    ["/live/%2e%2e/x", "encoded or escaped characters are not allowed"],
    [`/live/${STREAM}%2Fmaster.m3u8`, "encoded or escaped characters are not allowed"],
    [`/live/${STREAM}\\master.m3u8`, "encoded or escaped characters are not allowed"],
    [`/live/${STREAM}/${"a".repeat(300)}`, "path too long"],
    ["/media/x", "not a media path"],
    ["/live", "not a media path"],
    ["/live/ABCDEFGHIJ12/master.m3u8", "malformed stream id"],
    ["/live/short/master.m3u8", "malformed stream id"],
    [`/live/${STREAM}/master.m3u`, "unknown file"],
    [`/live/${STREAM}/index.m3u8`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/720p`, "unknown file"],
    [`/live/${STREAM}/ab/720p/index.m3u8`, "malformed session id"],
    [`/live/${STREAM}/${SESSION}/720x/index.m3u8`, "malformed rendition"],
    [`/live/${STREAM}/${SESSION}/720p/seg-1.m4s`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/720p/init.mp4`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/720p/init-0.mp4`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/manifest.mpd`, "unknown file"],
    [`/live/${STREAM}/ab/master.m3u8`, "malformed session id"],
    [`/live/${STREAM}/${SESSION}/720p/seg-00001.ts`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/720p/seg-00001.p.m4s`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/720p/seg-00001.p100.m4s`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/720p/seg-00001.p0.p1.m4s`, "unknown file"],
    [`/live/${STREAM}/${SESSION}/720p/x/index.m3u8`, "too many path segments"],
  ])("%s (%s)", (path, reason) => {
    expect(parseMediaPath(path)).toEqual({ ok: false, reason });
  });
});

describe("content types", () => {
  it("maps playlists to the HLS type and fMP4 to video/mp4", () => {
    expect(CONTENT_TYPES).toEqual({
      "master-playlist": "application/vnd.apple.mpegurl",
      "media-playlist": "application/vnd.apple.mpegurl",
      "dash-manifest": "application/dash+xml",
      "init-segment": "video/mp4",
      "media-segment": "video/mp4",
      poster: "image/jpeg",
    });
  });
});
