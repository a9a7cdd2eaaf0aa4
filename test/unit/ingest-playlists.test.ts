import { describe, expect, it } from "vitest";
import { rewriteMasterPlaylist } from "../../ingest-node/packager/master-playlist";
import { parseMediaPlaylist, renderMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import { RenditionTrack } from "../../ingest-node/uploader/rendition-track";

// As ffmpeg 5.1 writes them for `-var_stream_map "a:0,agroup:aud,name:audio v:0,agroup:aud,name:720p ..."`.
const FFMPEG_MASTER = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio_0",DEFAULT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=140800,CODECS="mp4a.40.2",AUDIO="group_aud"
audio/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=3220800,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_aud"
720p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=1680800,RESOLUTION=854x480,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_aud"
480p/index.m3u8
`;

const FFMPEG_MEDIA = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_1.mp4"
#EXTINF:2.000000,
seg-00003.m4s
#EXTINF:2.000000,
seg-00004.m4s
`;

describe("media playlists", () => {
  it("lists the init segment and the segments with their numbers and durations", () => {
    expect(parseMediaPlaylist(FFMPEG_MEDIA)).toEqual({
      initUri: "init_1.mp4",
      targetDuration: 2,
      segments: [
        { uri: "seg-00003.m4s", sequence: 3, duration: 2 },
        { uri: "seg-00004.m4s", sequence: 4, duration: 2 },
      ],
      ended: false,
    });
    expect(parseMediaPlaylist(`${FFMPEG_MEDIA}#EXT-X-ENDLIST\n`).ended).toBe(true);
  });

  it("renders the stored playlist: layout init, discontinuities, a target covering every segment", () => {
    const text = renderMediaPlaylist({
      mediaSequence: 7,
      discontinuitySequence: 1,
      targetDuration: 2,
      segments: [
        { uri: "seg-00007.m4s", duration: 2, discontinuity: false, initFile: "init-1.mp4" },
        { uri: "seg-00008.m4s", duration: 2.6, discontinuity: true, initFile: "init-1.mp4" },
      ],
      ended: true,
    });
    expect(text).toBe(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXTINF:2.000000,
seg-00007.m4s
#EXT-X-DISCONTINUITY
#EXTINF:2.600000,
seg-00008.m4s
#EXT-X-ENDLIST
`);
    expect(parseMediaPlaylist(text).segments.map((s) => s.sequence)).toEqual([7, 8]);
  });

  it("dates each segment it knows the wall clock of, after its map", () => {
    const text = renderMediaPlaylist({
      mediaSequence: 4,
      discontinuitySequence: 0,
      targetDuration: 2,
      segments: [
        { uri: "seg-00004.m4s", duration: 2, discontinuity: false, initFile: "init-1.mp4", programDateMs: Date.UTC(2026, 10, 25, 18, 0, 0, 500) },
        { uri: "seg-00005.m4s", duration: 2, discontinuity: true, initFile: "init-2.mp4", programDateMs: Date.UTC(2026, 10, 25, 18, 0, 30) },
        { uri: "seg-00006.m4s", duration: 2, discontinuity: false, initFile: "init-2.mp4", programDateMs: null },
      ],
      ended: true,
    });
    expect(text).toBe(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T18:00:00.500Z
#EXTINF:2.000000,
seg-00004.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-2.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T18:00:30.000Z
#EXTINF:2.000000,
seg-00005.m4s
#EXTINF:2.000000,
seg-00006.m4s
#EXT-X-ENDLIST
`);
  });

  it("lets players block on the next segment while live (CAN-BLOCK-RELOAD), and not once ended", () => {
    const live = renderMediaPlaylist({
      mediaSequence: 12,
      discontinuitySequence: 0,
      targetDuration: 2,
      segments: [{ uri: "seg-00012.m4s", duration: 2, discontinuity: false, initFile: "init-1.mp4" }],
      ended: false,
    });
    expect(live).toBe(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES
#EXT-X-MEDIA-SEQUENCE:12
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXTINF:2.000000,
seg-00012.m4s
`);
    const ended = renderMediaPlaylist({ mediaSequence: 12, discontinuitySequence: 0, targetDuration: 2, segments: [], ended: true });
    expect(ended).not.toContain("SERVER-CONTROL");
  });

  it("renders the LL-HLS playlist: parts of the newest segments and of the growing one, hold-back, then the hint", () => {
    const part = (uri: string, independent = false) => ({ uri, duration: 0.5, independent });
    const lowLatency = {
      partTargetSeconds: 0.534,
      growing: { programDateMs: Date.UTC(2026, 11, 4, 12, 0, 4), parts: [part("seg-00014.p0.m4s", true), part("seg-00014.p1.m4s")] },
      nextPartUri: "seg-00014.p2.m4s",
    };
    const segments = [
      { uri: "seg-00012.m4s", duration: 2, discontinuity: false, initFile: "init-1.mp4", programDateMs: Date.UTC(2026, 11, 4, 12, 0, 0) },
      {
        uri: "seg-00013.m4s", duration: 2, discontinuity: false, initFile: "init-1.mp4", programDateMs: Date.UTC(2026, 11, 4, 12, 0, 2),
        parts: [part("seg-00013.p0.m4s", true), part("seg-00013.p1.m4s"), part("seg-00013.p2.m4s"), part("seg-00013.p3.m4s")],
      },
    ];
    expect(renderMediaPlaylist({ mediaSequence: 12, discontinuitySequence: 0, targetDuration: 2, segments, ended: false, lowLatency })).toBe(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.602
#EXT-X-PART-INF:PART-TARGET=0.534
#EXT-X-MEDIA-SEQUENCE:12
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-04T12:00:00.000Z
#EXTINF:2.000000,
seg-00012.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-04T12:00:02.000Z
#EXT-X-PART:DURATION=0.500000,URI="seg-00013.p0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500000,URI="seg-00013.p1.m4s"
#EXT-X-PART:DURATION=0.500000,URI="seg-00013.p2.m4s"
#EXT-X-PART:DURATION=0.500000,URI="seg-00013.p3.m4s"
#EXTINF:2.000000,
seg-00013.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-04T12:00:04.000Z
#EXT-X-PART:DURATION=0.500000,URI="seg-00014.p0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500000,URI="seg-00014.p1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg-00014.p2.m4s"
`);
    // Once ended: no parts, no part information, no hint.
    const ended = renderMediaPlaylist({ mediaSequence: 12, discontinuitySequence: 0, targetDuration: 2, segments, ended: true, lowLatency });
    expect(ended).not.toMatch(/EXT-X-PART|PRELOAD-HINT|seg-00014/);
  });

  it("names a new init segment after the discontinuity where the media changes, and marks a recording VOD", () => {
    const text = renderMediaPlaylist({
      mediaSequence: 1,
      discontinuitySequence: 0,
      targetDuration: 2,
      segments: [
        { uri: "seg-00001.m4s", duration: 2, discontinuity: false, initFile: "init-1.mp4" },
        { uri: "seg-00002.m4s", duration: 2, discontinuity: true, initFile: "init-2.mp4" },
        { uri: "seg-00003.m4s", duration: 2, discontinuity: false, initFile: "init-2.mp4" },
      ],
      ended: true,
      vod: true,
    });
    expect(text).toBe(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXTINF:2.000000,
seg-00001.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-2.mp4"
#EXTINF:2.000000,
seg-00002.m4s
#EXTINF:2.000000,
seg-00003.m4s
#EXT-X-ENDLIST
`);
  });

  it("refuses names outside the layout, so nothing unexpected is ever uploaded", () => {
    expect(() => parseMediaPlaylist(FFMPEG_MEDIA.replace("seg-00004.m4s", "../secret.m4s"))).toThrow(/unexpected segment name/);
    expect(() => parseMediaPlaylist(FFMPEG_MEDIA.replace('"init_1.mp4"', '"../init.mp4"'))).toThrow(/EXT-X-MAP/);
    expect(() => parseMediaPlaylist("seg-00001.m4s\n")).toThrow(/#EXTM3U/);
  });
});

describe("a rendition's timeline across ffmpeg runs", () => {
  const ffmpeg = (from: number, to: number) => parseMediaPlaylist(FFMPEG_MEDIA.replace(/#EXTINF[\s\S]*/, "") + range(from, to).map((n) => `#EXTINF:2.0,\nseg-${String(n).padStart(5, "0")}.m4s\n`).join(""));
  const storeAll = (track: RenditionTrack) => {
    while (track.queue[0]) track.stored(track.queue[0], "init-1.mp4");
  };

  it("continues the numbering after a new ffmpeg restarts at 1, and marks the break once", () => {
    const track = new RenditionTrack(6, 100);
    track.take("run-1", ffmpeg(1, 3));
    track.take("run-1", ffmpeg(2, 4));
    storeAll(track);
    track.take("run-2", ffmpeg(1, 2));
    storeAll(track);
    const stored = parseMediaPlaylist(track.render());
    expect(stored.segments.map((s) => s.uri)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `seg-0000${n}.m4s`));
    expect(track.render().match(/#EXT-X-DISCONTINUITY\n#EXTINF:2.000000,\nseg-00005.m4s/)).not.toBeNull();
    expect(track.render().match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
  });

  it("counts discontinuities that slid out of the window", () => {
    const track = new RenditionTrack(2, 100);
    track.take("run-1", ffmpeg(1, 2));
    track.take("run-2", ffmpeg(1, 3));
    storeAll(track);
    expect(track.render()).toContain("#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n");
    expect(track.render()).not.toContain("#EXT-X-DISCONTINUITY\n");
  });

  it("drops the oldest unstored segments past its bound, and marks the gap", () => {
    const track = new RenditionTrack(6, 3);
    track.take("run-1", ffmpeg(1, 1));
    storeAll(track);
    const dropped = track.take("run-1", ffmpeg(1, 6));
    expect(dropped.map((s) => s.spoolUri)).toEqual(["seg-00002.m4s", "seg-00003.m4s"]);
    expect(track.queue.map((s) => [s.spoolUri, s.discontinuity])).toEqual([["seg-00004.m4s", true], ["seg-00005.m4s", false], ["seg-00006.m4s", false]]);
    storeAll(track);
    // Numbering stays consecutive: the stored names never skip.
    expect(parseMediaPlaylist(track.render()).segments.map((s) => s.sequence)).toEqual([1, 2, 3, 4]);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe("the stream's master playlist", () => {
  it("points every URI into the session, keeps ffmpeg's attributes, and drops the audio-only variant", () => {
    expect(rewriteMasterPlaylist(FFMPEG_MASTER, "s3ss10n", ["audio", "720p", "480p"])).toBe(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio_0",DEFAULT=YES,URI="s3ss10n/audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=3220800,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_aud"
s3ss10n/720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1680800,RESOLUTION=854x480,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_aud"
s3ss10n/480p/index.m3u8
`);
  });

  it("writes the session's own master with URIs next to it, leaving out renditions no longer produced", () => {
    expect(rewriteMasterPlaylist(FFMPEG_MASTER, null, ["audio", "480p"])).toBe(`#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio_0",DEFAULT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1680800,RESOLUTION=854x480,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_aud"
480p/index.m3u8
`);
  });

  it("refuses a master that lacks a rendition or names one outside the layout", () => {
    expect(() => rewriteMasterPlaylist(FFMPEG_MASTER, "s3ss10n", ["audio", "720p", "480p", "360p"])).toThrow(/lacks 360p/);
    expect(() => rewriteMasterPlaylist(FFMPEG_MASTER.replace("480p/index.m3u8\n", "../x/index.m3u8\n"), "s3ss10n", ["audio", "720p"])).toThrow(/x\/index.m3u8/);
    expect(() => rewriteMasterPlaylist("", "s3ss10n", ["720p"])).toThrow(/#EXTM3U/);
  });
});
