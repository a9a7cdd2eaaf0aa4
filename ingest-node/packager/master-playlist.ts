import { MEDIA_PLAYLIST_FILE, variantUri } from "../../workers/shared/layout";
import { AUDIO_RENDITION } from "../ladder/ladder";

/**
 * Turns the master playlist written from the spool (master-builder.ts; URIs like 720p/index.m3u8,
 * relative to the spool directory) into the stream's stable master at live/<streamId>/master.m3u8, whose
 * URIs name this session's renditions. Codecs, resolutions and bandwidths are kept as they are. Pure.
 */
export class MasterPlaylistError extends Error {}

export function rewriteMasterPlaylist(text: string, sessionId: string, renditions: readonly string[]): string {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "#EXTM3U") throw new MasterPlaylistError("ffmpeg's master playlist does not start with #EXTM3U");
  const seen = new Set<string>();
  const uriFor = (relative: string): string => {
    const rendition = relative.endsWith(`/${MEDIA_PLAYLIST_FILE}`) ? relative.slice(0, -MEDIA_PLAYLIST_FILE.length - 1) : "";
    if (!renditions.includes(rendition)) throw new MasterPlaylistError(`ffmpeg's master names ${JSON.stringify(relative)}, not a rendition of this ladder`);
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
      if (target === variantUri(sessionId, AUDIO_RENDITION)) continue;
      out.push(line, target);
    } else if (line.startsWith("#EXT-X-MEDIA:")) {
      out.push(line.replace(/URI="([^"]+)"/, (_, uri: string) => `URI="${uriFor(uri)}"`));
    } else if (line !== "") {
      out.push(line);
    }
  }
  const missing = renditions.filter((r) => !seen.has(r));
  if (missing.length > 0) throw new MasterPlaylistError(`ffmpeg's master playlist lacks ${missing.join(", ")}`);
  return `${out.join("\n")}\n`;
}
