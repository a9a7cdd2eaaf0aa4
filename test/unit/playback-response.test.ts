import { describe, expect, it } from "vitest";
import { privateCacheControl, signedMediaResponse, withTokenOnUris } from "../../workers/media/signed-response";
import { cacheControlFor, NOT_FOUND_CACHE_CONTROL } from "../../workers/shared/cache-policy";

const TOKEN = "1800000060..abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ_-";

// Byte-exact: Workers Cache reads nothing but these strings, and must never store a signed answer.
describe("privateCacheControl", () => {
  it.each([
    [cacheControlFor({ kind: "media-segment" }), "private, max-age=31536000, immutable"],
    [cacheControlFor({ kind: "media-playlist" }), "private, max-age=1"],
    [cacheControlFor({ kind: "media-playlist", ended: true }), "private, max-age=86400"],
    [cacheControlFor({ kind: "master-playlist" }), "private, max-age=2"],
    [cacheControlFor({ kind: "poster" }), "private, max-age=10"],
    [NOT_FOUND_CACHE_CONTROL, "private, max-age=1"],
    ["", "private"],
  ])("turns %j into %j", (publicValue, expected) => {
    expect(privateCacheControl(publicValue)).toBe(expected);
  });
});

describe("withTokenOnUris", () => {
  it("carries the token on every URI of a master playlist", () => {
    const master = [
      "#EXTM3U",
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="audio",DEFAULT=YES,URI="sess01/audio/index.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aud"',
      "sess01/720p/index.m3u8",
      "",
    ].join("\n");
    expect(withTokenOnUris(master, TOKEN)).toBe(
      [
        "#EXTM3U",
        `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="audio",DEFAULT=YES,URI="sess01/audio/index.m3u8?token=${TOKEN}"`,
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aud"',
        `sess01/720p/index.m3u8?token=${TOKEN}`,
        "",
      ].join("\n"),
    );
  });

  it("carries it on the init segment and every media segment, keeping CRLF and existing queries", () => {
    const media = '#EXTM3U\r\n#EXT-X-MAP:URI="init.mp4"\r\n#EXTINF:2.0,\r\nseg-00001.m4s\r\n#EXTINF:2.0,\r\nseg-00002.m4s?v=1\r\n';
    expect(withTokenOnUris(media, TOKEN)).toBe(
      `#EXTM3U\r\n#EXT-X-MAP:URI="init.mp4?token=${TOKEN}"\r\n#EXTINF:2.0,\r\nseg-00001.m4s?token=${TOKEN}\r\n#EXTINF:2.0,\r\nseg-00002.m4s?v=1&token=${TOKEN}\r\n`,
    );
  });
});

describe("signedMediaResponse", () => {
  const full = (body: string) =>
    new Response(body, {
      headers: {
        "Content-Type": "application/vnd.apple.mpegurl",
        "Content-Length": String(body.length),
        "Cache-Control": cacheControlFor({ kind: "media-playlist" }),
        ETag: '"abc123"',
      },
    });

  it("rewrites a playlist, recounts its length and gives it an ETag of its own per token", async () => {
    const res = await signedMediaResponse(full("#EXTM3U\nseg-00001.m4s\n"), "media-playlist", TOKEN);
    const text = await res.text();
    expect(text).toBe(`#EXTM3U\nseg-00001.m4s?token=${TOKEN}\n`);
    expect(res.headers.get("Content-Length")).toBe(String(text.length));
    expect(res.headers.get("Cache-Control")).toBe("private, max-age=1");
    expect(res.headers.get("ETag")).toBe(`"abc123-${TOKEN.slice(-10)}"`);
    const other = await signedMediaResponse(full("#EXTM3U\n"), "media-playlist", `${TOKEN.slice(0, -1)}A`);
    expect(other.headers.get("ETag")).not.toBe(res.headers.get("ETag"));
  });

  it("passes a segment's bytes and ETag through, only making it private", async () => {
    const segment = new Response(new Uint8Array([1, 2, 3]), {
      headers: { "Cache-Control": cacheControlFor({ kind: "media-segment" }), ETag: '"seg"', "Content-Length": "3" },
    });
    const res = await signedMediaResponse(segment, "media-segment", TOKEN);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(res.headers.get("ETag")).toBe('"seg"');
    expect(res.headers.get("Cache-Control")).toBe("private, max-age=31536000, immutable");
  });
});
