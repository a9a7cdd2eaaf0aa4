import { INIT_FILE, SEGMENT_FILE_PATTERN } from "../../workers/shared/layout";

/**
 * Reads the media playlists ffmpeg writes (only what the uploader needs: which files it names, and
 * whether it is final) and renames the init segment to the layout's name. Pure.
 */
export interface PlaylistSegment {
  /** file name next to the playlist, e.g. seg-00007.m4s */
  uri: string;
  /** the number in the file name, which ffmpeg keeps equal to the media sequence number */
  sequence: number;
}

export interface MediaPlaylist {
  /** the init segment's file name as ffmpeg wrote it (init_1.mp4) */
  initUri: string;
  segments: PlaylistSegment[];
  ended: boolean;
}

export class PlaylistError extends Error {}

const MAP_LINE = /^#EXT-X-MAP:URI="([^"]+)"/;

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== "#EXTM3U") throw new PlaylistError("not an HLS playlist (no #EXTM3U)");
  let initUri: string | undefined;
  const segments: PlaylistSegment[] = [];
  for (const line of lines) {
    const map = MAP_LINE.exec(line);
    if (map) initUri = map[1];
    if (line === "" || line.startsWith("#")) continue;
    const match = SEGMENT_FILE_PATTERN.exec(line);
    if (!match) throw new PlaylistError(`unexpected segment name ${JSON.stringify(line)}; the layout allows seg-NNNNN.m4s`);
    segments.push({ uri: line, sequence: Number(match[1]) });
  }
  if (!initUri || initUri.includes("/")) throw new PlaylistError("a CMAF media playlist needs an EXT-X-MAP init segment next to it");
  return { initUri, segments, ended: lines.includes("#EXT-X-ENDLIST") };
}

/** The playlist as stored: its EXT-X-MAP points at the layout's init.mp4. */
export function withLayoutInitUri(text: string): string {
  return text.replace(/^#EXT-X-MAP:URI="[^"]+"/m, `#EXT-X-MAP:URI="${INIT_FILE}"`);
}
