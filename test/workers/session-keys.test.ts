import { describe, expect, it } from "vitest";
import { call, env, registeredStreamId } from "./helpers";

const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());
const uris = (playlist: string) => playlist.split("\n").filter((line) => line !== "" && !line.startsWith("#"));

/** What the uploader stores for one session, in its order: segment, media playlist, then the master. */
async function publishSession(id: string, session: string, segment: Uint8Array) {
  const base = `live/${id}/${session}/720p`;
  await env.MEDIA.put(`${base}/seg-00001.m4s`, segment);
  await env.MEDIA.put(`${base}/index.m3u8`, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg-00001.m4s\n");
  await env.MEDIA.put(`live/${id}/master.m3u8`, `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\n${session}/720p/index.m3u8\n`);
}

/** Plays like a player: master, then the first variant, then its first segment. */
async function play(id: string) {
  const masterUrl = `/live/${id}/master.m3u8`;
  const variant = new URL(uris(await text(await call(masterUrl)))[0]!, `https://x${masterUrl}`).pathname;
  const segmentPath = new URL(uris(await text(await call(variant)))[0]!, `https://x${variant}`).pathname;
  return { segmentPath, bytes: new Uint8Array(await (await call(segmentPath)).arrayBuffer()) };
}

describe("a stream restarted under the same id", () => {
  it("gets new segment URLs, and the master switches to them once its 2 s lifetime is over", async () => {
    const id = await registeredStreamId();
    const first = Uint8Array.from({ length: 32 }, () => 1);
    const second = Uint8Array.from({ length: 32 }, () => 2);

    await publishSession(id, "sessionone", first);
    const before = await play(id);
    expect(before).toEqual({ segmentPath: `/live/${id}/sessionone/720p/seg-00001.m4s`, bytes: first });

    // Same segment number, new session: the old segment is cached as immutable for a year, so only a new
    // key keeps viewers from getting the old session's picture.
    await publishSession(id, "sessiontwo", second);
    await scheduler.wait(2_100);
    const after = await play(id);
    expect(after).toEqual({ segmentPath: `/live/${id}/sessiontwo/720p/seg-00001.m4s`, bytes: second });
    // The old session's URL still names the old bytes; nothing was overwritten.
    expect(new Uint8Array(await (await call(before.segmentPath)).arrayBuffer())).toEqual(first);
  });
});
