import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "mpd-parser";
import { describe, expect, it } from "vitest";
import { parseMediaPath, segmentFileName } from "../../workers/shared/layout";
import { renderDashManifest, type DashManifestInput, type DashRendition } from "../../ingest-node/packager/dash-manifest";
import { parseMediaPlaylist } from "../../ingest-node/packager/media-playlist";
import { fragmentTiming, initTiming } from "../../ingest-node/packager/mp4-boxes";

/** The live DASH manifest, byte-exact on a fixed clock, then read back by mpd-parser as a player would. */
const STREAM = "abcdefghijkl";
const MPD_URL = `https://edge.example/live/${STREAM}/manifest.mpd`;
const AST = Date.UTC(2026, 6, 1, 12, 0, 0, 250);
const NOW = Date.UTC(2026, 6, 1, 12, 0, 30);

const VIDEO = { timescale: 15360, track: { codec: "avc1.64001f", width: 1280, height: 720 } };
const AUDIO = { timescale: 48000, track: { codec: "mp4a.40.2", channels: 2 } };

function seg(sequence: number, run: string, initFile: string, decodeTime: number, duration: number, bytes: number, samples: number) {
  return { sequence, run, initFile, media: { decodeTime, duration, bytes, samples } };
}

/**
 * Two ffmpeg runs (a publisher that reconnected with another format, so 720p has a second init
 * segment). Run 1: 720p segments 3-5 (the last one short: ffmpeg's final segment), audio 3-4 (audio is
 * cut a little off the 2 s); run 2 anchored 16.5 s after the first run's start.
 */
function twoRuns(overrides: Partial<DashManifestInput> = {}): DashManifestInput {
  const video: DashRendition = {
    name: "720p",
    inits: new Map([["init-1.mp4", VIDEO], ["init-2.mp4", VIDEO]]),
    segments: [
      seg(3, "/spool/run-1", "init-1.mp4", 61440, 30720, 500_000, 60),
      seg(4, "/spool/run-1", "init-1.mp4", 92160, 30720, 480_000, 60),
      seg(5, "/spool/run-1", "init-1.mp4", 122880, 15360, 200_000, 30),
      seg(6, "/spool/run-2", "init-2.mp4", 0, 30720, 450_000, 60),
      seg(7, "/spool/run-2", "init-2.mp4", 30720, 30720, 450_000, 60),
    ],
  };
  const audio: DashRendition = {
    name: "audio",
    inits: new Map([["init-1.mp4", AUDIO]]),
    segments: [
      seg(3, "/spool/run-1", "init-1.mp4", 192512, 96256, 32_000, 94),
      seg(4, "/spool/run-1", "init-1.mp4", 288768, 95232, 32_000, 93),
      seg(5, "/spool/run-2", "init-1.mp4", 0, 96256, 32_000, 94),
      seg(6, "/spool/run-2", "init-1.mp4", 96256, 96256, 32_000, 94),
    ],
  };
  return {
    sessionId: "sess0001",
    availabilityStartMs: AST,
    publishMs: NOW,
    segmentSeconds: 2,
    timeShiftBufferSeconds: 12,
    presentationDelaySeconds: 6,
    ended: false,
    utcTimingUrl: "/api/time",
    clocks: [
      { run: "/spool/run-1", id: "1", startMs: 0, originTime: 0, originTimescale: 15360 },
      { run: "/spool/run-2", id: "2", startMs: 16_500, originTime: 0, originTimescale: 15360 },
    ],
    renditions: [video, audio],
    ...overrides,
  };
}

const EXPECTED = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" availabilityStartTime="2026-07-01T12:00:00.250Z" publishTime="2026-07-01T12:00:30.000Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT12S" suggestedPresentationDelay="PT6S" minBufferTime="PT2S">
  <Period id="1" start="PT0S">
    <AdaptationSet id="1" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="720p" bandwidth="2000000" width="1280" height="720" frameRate="30" codecs="avc1.64001f">
        <SegmentTemplate timescale="15360" presentationTimeOffset="0" startNumber="3" initialization="sess0001/720p/init-1.mp4" media="sess0001/720p/seg-$Number%05d$.m4s">
          <SegmentTimeline>
            <S t="61440" d="30720" r="1"/>
            <S t="122880" d="15360"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" bandwidth="129033" audioSamplingRate="48000" codecs="mp4a.40.2">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentTemplate timescale="48000" presentationTimeOffset="0" startNumber="3" initialization="sess0001/audio/init-1.mp4" media="sess0001/audio/seg-$Number%05d$.m4s">
          <SegmentTimeline>
            <S t="192512" d="96256"/>
            <S t="288768" d="95232"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <Period id="2" start="PT16.5S">
    <AdaptationSet id="1" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="720p" bandwidth="1800000" width="1280" height="720" frameRate="30" codecs="avc1.64001f">
        <SegmentTemplate timescale="15360" presentationTimeOffset="0" startNumber="6" initialization="sess0001/720p/init-2.mp4" media="sess0001/720p/seg-$Number%05d$.m4s">
          <SegmentTimeline>
            <S t="0" d="30720" r="1"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" bandwidth="127660" audioSamplingRate="48000" codecs="mp4a.40.2">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentTemplate timescale="48000" presentationTimeOffset="0" startNumber="5" initialization="sess0001/audio/init-1.mp4" media="sess0001/audio/seg-$Number%05d$.m4s">
          <SegmentTimeline>
            <S t="0" d="96256" r="1"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/api/time"/>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="2026-07-01T12:00:30.000Z"/>
</MPD>
`;

describe("the live DASH manifest", () => {
  it("renders a dynamic MPD: a Period per ffmpeg run, a SegmentTimeline of the real decode times, the edge's clock", () => {
    expect(renderDashManifest(twoRuns())).toBe(EXPECTED);
  });

  it("reads back with mpd-parser: every segment and init segment a layout key, with its real duration and place", () => {
    const manifest = parse(renderDashManifest(twoRuns())!, { manifestUri: MPD_URL, NOW, clientOffset: 0 });
    expect(manifest.minimumUpdatePeriod).toBe(2000);
    expect(manifest.suggestedPresentationDelay).toBe(6);
    expect(manifest.timelineStarts.map((t) => t.start)).toEqual([0, 16.5]);

    const [video] = manifest.playlists;
    expect(manifest.playlists).toHaveLength(1);
    expect(video!.attributes).toMatchObject({ NAME: "720p", BANDWIDTH: 2_000_000, CODECS: "avc1.64001f", RESOLUTION: { width: 1280, height: 720 }, "FRAME-RATE": 30 });
    expect(video!.segments.map((s) => s.uri)).toEqual([3, 4, 5, 6, 7].map((n) => `sess0001/720p/${segmentFileName(n)}`));
    expect(video!.segments.map((s) => s.duration)).toEqual([2, 2, 1, 2, 2]);
    // Media time 4 s (t=61440) on Period 1 at 0; the second run from its own Period's start.
    expect(video!.segments.map((s) => s.presentationTime)).toEqual([4, 6, 8, 16.5, 18.5]);
    expect(video!.segments.map((s) => s.map.uri)).toEqual(["init-1.mp4", "init-1.mp4", "init-1.mp4", "init-2.mp4", "init-2.mp4"].map((f) => `sess0001/720p/${f}`));
    expect(video!.discontinuityStarts).toEqual([3]);

    const audio = manifest.mediaGroups.AUDIO.audio!.und!.playlists[0]!;
    expect(audio.attributes).toMatchObject({ NAME: "audio", CODECS: "mp4a.40.2" });
    expect(audio.segments.map((s) => s.duration)).toEqual([96256 / 48000, 95232 / 48000, 96256 / 48000, 96256 / 48000]);
    expect(audio.segments.map((s) => s.uri)).toEqual([3, 4, 5, 6].map((n) => `sess0001/audio/${segmentFileName(n)}`));

    // URLs resolve against the MPD's to the keys the uploader stored them under.
    for (const s of [...video!.segments, ...audio.segments]) {
      expect(parseMediaPath(new URL(s.resolvedUri).pathname)).toMatchObject({ ok: true, object: { kind: "media-segment", streamId: STREAM, sessionId: "sess0001" } });
      expect(parseMediaPath(new URL(s.map.resolvedUri).pathname)).toMatchObject({ ok: true, object: { kind: "init-segment", streamId: STREAM } });
    }
  });

  it("once the session ends: still dynamic, the last Period of fixed duration, no further updates (DASH-IF timing model)", () => {
    const text = renderDashManifest(twoRuns({ ended: true }))!;
    expect(text).toContain(' type="dynamic" ');
    expect(text).not.toContain("minimumUpdatePeriod");
    // Period 2 starts at 16.5 s and its longest track runs 4.010667 s (two audio segments of 96256/48000 s).
    expect(text).toContain(' mediaPresentationDuration="PT20.511S" ');
    expect(text).toContain('<Period id="1" start="PT0S">');
    expect(text).toContain('<Period id="2" start="PT16.5S" duration="PT4.011S">');
    expect(parse(text, { manifestUri: MPD_URL, NOW }).minimumUpdatePeriod).toBeUndefined();
  });

  it("lists a run's Period only while every rendition has one of its segments in its window", () => {
    const input = twoRuns();
    // The audio window slid past run 1: its Period goes, the second one stays where it was.
    const audio = { ...input.renditions[1]!, segments: input.renditions[1]!.segments.slice(2) };
    const text = renderDashManifest({ ...input, renditions: [input.renditions[0]!, audio] })!;
    expect(text.match(/<Period /g)).toHaveLength(1);
    expect(text).toContain('<Period id="2" start="PT16.5S">');
    expect(text).toContain('startNumber="6" initialization="sess0001/720p/init-2.mp4"');

    // Nothing of any run in every rendition yet: no MPD rather than one without audio.
    expect(renderDashManifest({ ...input, renditions: [input.renditions[0]!, { ...audio, segments: [] }] })).toBeNull();
  });

  it("restates t after a gap (segments dropped unstored), and leaves out segments before an unreadable one", () => {
    const input = twoRuns();
    const video = input.renditions[0]!;
    const gapped = [seg(3, "/spool/run-1", "init-1.mp4", 61440, 30720, 1, 60), seg(4, "/spool/run-1", "init-1.mp4", 153600, 30720, 1, 60)];
    const withGap = renderDashManifest({ ...input, renditions: [{ ...video, segments: gapped }, input.renditions[1]!] })!;
    expect(withGap).toContain('startNumber="3" initialization="sess0001/720p/init-1.mp4" media="sess0001/720p/seg-$Number%05d$.m4s">\n          <SegmentTimeline>\n            <S t="61440" d="30720"/>\n            <S t="153600" d="30720"/>\n');

    // $Number$ counts S entries: segment 4 cannot be skipped, so only 5 (after it) is listed.
    const unreadable = video.segments.map((s) => (s.sequence === 4 ? { ...s, media: null } : s));
    const text = renderDashManifest({ ...input, renditions: [{ ...video, segments: unreadable }, input.renditions[1]!] })!;
    expect(text).toContain('startNumber="5" initialization="sess0001/720p/init-1.mp4" media="sess0001/720p/seg-$Number%05d$.m4s">\n          <SegmentTimeline>\n            <S t="122880" d="15360"/>\n');
  });

  it("writes frame rates a ladder produces as DASH ratios, others as the measured ratio", () => {
    const input = twoRuns();
    const at = (samples: number, duration: number, timescale = 15360) =>
      renderDashManifest({
        ...input,
        clocks: [input.clocks[0]!],
        renditions: [{ name: "720p", inits: new Map([["init-1.mp4", { ...VIDEO, timescale }]]), segments: [seg(1, "/spool/run-1", "init-1.mp4", 0, duration, 1000, samples)] }, input.renditions[1]!],
      })!.match(/frameRate="([^"]+)"/)![1];
    expect(at(60, 30750)).toBe("30000/1001");
    expect(at(25, 30720)).toBe("25/2");
    expect(at(20, 30720)).toBe("10");
    expect(at(7, 30720)).toBe("7/2");
  });
});

const run = promisify(execFile);

describe("decode times and durations from real ffmpeg CMAF", () => {
  it("match the playlist's durations and follow each other without gaps", async () => {
    const dir = await mkdtemp(join(tmpdir(), "onair-dash-"));
    try {
      await run("ffmpeg", [
        "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi", "-i", "sine=sample_rate=48000",
        "-t", "5", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-c:a", "aac",
        "-f", "hls", "-hls_time", "2", "-hls_segment_type", "fmp4", "-hls_playlist_type", "vod", "-var_stream_map", "v:0,name:180p a:0,name:audio",
        "-hls_segment_filename", join(dir, "%v", "seg-%05d.m4s"), "-start_number", "1", join(dir, "%v", "index.m3u8"),
      ]);
      for (const [name, timescale] of [["180p", 15360], ["audio", 48000]] as const) {
        const playlist = parseMediaPlaylist(await readFile(join(dir, name, "index.m3u8"), "utf8"));
        const init = initTiming(await readFile(join(dir, name, playlist.initUri)));
        expect(init.timescale).toBe(timescale);
        let next = 0;
        for (const s of playlist.segments) {
          const timing = fragmentTiming(await readFile(join(dir, name, s.uri)), init.defaultSampleDuration);
          expect(timing.decodeTime).toBe(next);
          expect(timing.duration / timescale).toBeCloseTo(s.duration, 3);
          next = timing.decodeTime + timing.duration;
        }
        expect((await readdir(join(dir, name))).filter((f) => f.endsWith(".m4s"))).toHaveLength(playlist.segments.length);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
