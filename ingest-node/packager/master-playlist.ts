import { MEDIA_PLAYLIST_FILE, RENDITION_PATTERN, variantUri } from "../../workers/shared/layout";
import { AUDIO_RENDITION } from "../ladder/ladder";

/**
 * Turns the master playlist written from the spool (master-builder.ts; URIs like 720p/index.m3u8,
 * relative to the spool directory) into a stored master listing `renditions`: the stream's stable master
 * at live/<streamId>/master.m3u8 (sessionId given: URIs name this session's renditions) or the session's
 * own master next to them (sessionId null). Variants of renditions no longer produced (shed to keep up
 * with live) are left out. Codecs, resolutions and bandwidths are kept as they are. Pure.
 */
export class MasterPlaylistError extends Error {}

export function rewriteMasterPlaylist(text: string, sessionId: string | null, renditions: readonly string[]): string {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "#EXTM3U") throw new MasterPlaylistError("ffmpeg's master playlist does not start with #EXTM3U");
  const seen = new Set<string>();
  /** null for a rendition left out */
  const uriFor = (relative: string): string | null => {
    const rendition = relative.endsWith(`/${MEDIA_PLAYLIST_FILE}`) ? relative.slice(0, -MEDIA_PLAYLIST_FILE.length - 1) : "";
    if (!RENDITION_PATTERN.test(rendition)) throw new MasterPlaylistError(`ffmpeg's master names ${JSON.stringify(relative)}, not a rendition of the layout`);
    if (!renditions.includes(rendition)) return null;
    seen.add(rendition);
    return variantUri(sessionId, rendition);
  };

  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.startsWith("#EXT-X-STREAM-INF:")) {
      const target = uriFor(lines[i + 1]?.trim() ?? "");
      i += 1;
      // An audio-only variant (ffmpeg's own masters list one) would let a player at a low bandwidth
      // estimate pick no picture. Audio stays reachable through its EXT-X-MEDIA group.
      if (target === null || target === variantUri(sessionId, AUDIO_RENDITION)) continue;
      out.push(line, target);
    } else if (line.startsWith("#EXT-X-MEDIA:")) {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      const target = uri === undefined ? null : uriFor(uri);
      if (target !== null) out.push(line.replace(/URI="([^"]+)"/, `URI="${target}"`));
    } else if (line !== "") {
      out.push(line);
    }
  }
  const missing = renditions.filter((r) => !seen.has(r));
  if (missing.length > 0) throw new MasterPlaylistError(`ffmpeg's master playlist lacks ${missing.join(", ")}`);
  return `${out.join("\n")}\n`;
}
