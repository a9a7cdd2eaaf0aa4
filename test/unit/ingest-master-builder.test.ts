import { describe, expect, it } from "vitest";
import { buildMasterPlaylist } from "../../ingest-node/packager/master-builder";

describe("the master playlist from measured renditions", () => {
  it("gives peak and mean bitrates with audio added, exact codecs, size and rate, one shared audio group", () => {
    const master = buildMasterPlaylist([
      // 2 s of 48 kHz AAC is 93.75 AAC frames: 94 and 93 frames
      { name: "audio", track: { codec: "mp4a.40.2", channels: 2 }, segments: [{ bytes: 32_000, seconds: 2, samples: 94 }, { bytes: 32_000, seconds: 2, samples: 93 }] },
      {
        name: "720p",
        track: { codec: "avc1.64001f", width: 1280, height: 720 },
        segments: [{ bytes: 750_000, seconds: 2, samples: 60 }, { bytes: 500_000, seconds: 2, samples: 60 }, { bytes: 100_000, seconds: 1, samples: 30 }],
      },
      { name: "144p", track: { codec: "avc1.64000b", width: 256, height: 144 }, segments: [{ bytes: 50_000, seconds: 2.002, samples: 30 }] },
    ]);
    expect(master).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"',
        // 720p: peak 3 Mb/s (the first segment), mean 1.35 MB * 8 / 5 s = 2.16 Mb/s; audio 128 kb/s
        '#EXT-X-STREAM-INF:BANDWIDTH=3128000,AVERAGE-BANDWIDTH=2288000,RESOLUTION=1280x720,FRAME-RATE=30.000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_aud"',
        "720p/index.m3u8",
        // 30 frames in 2.002 s: 14.985 fps (15000/1001)
        '#EXT-X-STREAM-INF:BANDWIDTH=327801,AVERAGE-BANDWIDTH=327801,RESOLUTION=256x144,FRAME-RATE=14.985,CODECS="avc1.64000b,mp4a.40.2",AUDIO="group_aud"',
        "144p/index.m3u8",
        "",
      ].join("\n"),
    );
  });

  it("names no audio group for a silent source", () => {
    const master = buildMasterPlaylist([{ name: "360p", track: { codec: "avc1.42c01e", width: 360, height: 640 }, segments: [{ bytes: 200_000, seconds: 2, samples: 50 }] }]);
    expect(master).toContain('#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=800000,RESOLUTION=360x640,FRAME-RATE=25.000,CODECS="avc1.42c01e"\n360p/index.m3u8\n');
    expect(master).not.toContain("EXT-X-MEDIA");
  });
});
