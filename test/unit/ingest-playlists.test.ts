import { describe, expect, it } from "vitest";
import { rewriteMasterPlaylist } from "../../ingest-node/packager/master-playlist";
import { parseMediaPlaylist, withLayoutInitUri } from "../../ingest-node/packager/media-playlist";

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
  it("lists the init segment and the segments with their numbers", () => {
    expect(parseMediaPlaylist(FFMPEG_MEDIA)).toEqual({
      initUri: "init_1.mp4",
      segments: [
        { uri: "seg-00003.m4s", sequence: 3 },
        { uri: "seg-00004.m4s", sequence: 4 },
      ],
      ended: false,
    });
    expect(parseMediaPlaylist(`${FFMPEG_MEDIA}#EXT-X-ENDLIST\n`).ended).toBe(true);
  });

  it("renames the init segment to the layout's init.mp4 and changes nothing else", () => {
    const stored = withLayoutInitUri(FFMPEG_MEDIA);
    expect(stored).toBe(FFMPEG_MEDIA.replace('URI="init_1.mp4"', 'URI="init.mp4"'));
  });

  it("refuses names outside the layout, so nothing unexpected is ever uploaded", () => {
    expect(() => parseMediaPlaylist(FFMPEG_MEDIA.replace("seg-00004.m4s", "../secret.m4s"))).toThrow(/unexpected segment name/);
    expect(() => parseMediaPlaylist(FFMPEG_MEDIA.replace('"init_1.mp4"', '"../init.mp4"'))).toThrow(/EXT-X-MAP/);
    expect(() => parseMediaPlaylist("seg-00001.m4s\n")).toThrow(/#EXTM3U/);
  });
});

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

  it("refuses a master that lacks a rendition or names one the ladder does not have", () => {
    expect(() => rewriteMasterPlaylist(FFMPEG_MASTER, "s3ss10n", ["audio", "720p", "480p", "360p"])).toThrow(/lacks 360p/);
    expect(() => rewriteMasterPlaylist(FFMPEG_MASTER, "s3ss10n", ["audio", "720p"])).toThrow(/480p\/index.m3u8/);
    expect(() => rewriteMasterPlaylist("", "s3ss10n", ["720p"])).toThrow(/#EXTM3U/);
  });
});
