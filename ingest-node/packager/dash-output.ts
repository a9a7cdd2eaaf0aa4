import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import type { Ladder } from "../ladder/ladder";

/**
 * Where one ffmpeg run writes in its spool directory, and how its files are named. The ladder is written
 * by ffmpeg's DASH muxer (transcoder/ffmpeg-args.ts), not its HLS muxer: the HLS muxer writes a segment in
 * one piece when it is complete, while the DASH muxer in streaming mode grows `seg-N.m4s.tmp` one
 * fragment at a time and renames it once complete, so each fragment can be published as an LL-HLS part
 * the moment it is on disk (part-reader.ts). Its `-hls_playlist` output, one media playlist per output
 * stream listing finished segments, is what the segment watcher reads.
 *
 * The muxer names directories by output stream index only (`$RepresentationID$`), so each index is a
 * symbolic link to the rendition's own directory: the spool keeps the layout's rendition names.
 */

/** Rendition names in ffmpeg's output stream order: the video rungs as mapped (highest first), then audio. */
export function outputStreamNames(ladder: Ladder): string[] {
  return [...ladder.video.map((rung) => rung.name), ...(ladder.audio ? [ladder.audio.name] : [])];
}

/**
 * LL-HLS part length: players sit three parts behind the live edge (PART-HOLD-BACK), so this sets most
 * of the glass-to-glass delay. Half a second is what Apple's and hls.js's LL examples use.
 */
export const PART_SECONDS = 0.5;

/**
 * The longest part each rendition can have (EXT-X-PART-INF's PART-TARGET, which no part may exceed). The
 * muxer closes a fragment at the first frame at or past PART_SECONDS, so a video part is a whole number
 * of frames: one more than fits in PART_SECONDS covers RTMP's millisecond timestamps landing a frame
 * early, and a few milliseconds more their rounding (a copied 30 fps source had a 0.533984 s part, 16
 * frames). AAC frames are 1024 samples, and at every common rate 24 or fewer of them cover PART_SECONDS
 * in at most 0.512 s (48 kHz: exactly 24).
 */
export function partTargets(ladder: Ladder): Map<string, number> {
  const targets = new Map<string, number>();
  for (const rung of ladder.video) {
    const frames = Math.floor((PART_SECONDS * rung.fps.num) / rung.fps.den) + 1;
    targets.set(rung.name, Math.ceil(((frames * rung.fps.den) / rung.fps.num + TIMESTAMP_ROUNDING_SECONDS) * 1000) / 1000);
  }
  if (ladder.audio) targets.set(ladder.audio.name, AUDIO_PART_TARGET_SECONDS);
  return targets;
}

const AUDIO_PART_TARGET_SECONDS = 0.512;
const TIMESTAMP_ROUNDING_SECONDS = 0.005;

/** The DASH muxer's templates, relative to the spool directory. */
export const INIT_SEGMENT_TEMPLATE = "$RepresentationID$/init.mp4";
export const MEDIA_SEGMENT_TEMPLATE = "$RepresentationID$/seg-$Number%05d$.m4s";
/** What the muxer itself calls its manifest; nothing reads it (the uploader renders the MPD it stores). */
export const MUXER_MANIFEST_FILE = "manifest.mpd";

/** The muxer's media playlist of output stream `index`, next to the manifest. */
export function muxerPlaylistFile(index: number): string {
  return `media_${index}.m3u8`;
}

/** A segment still growing: the muxer renames it to its final name once complete. */
export function growingFileName(segmentFile: string): string {
  return `${segmentFile}.tmp`;
}

/** One directory per rendition, reached by the muxer through its stream index (it creates no directories). */
export async function prepareSpool(dir: string, ladder: Ladder): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(
    outputStreamNames(ladder).map(async (name, index) => {
      await mkdir(join(dir, name), { recursive: true });
      await symlink(name, join(dir, String(index))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      });
    }),
  );
}

/**
 * The muxer's playlist as the rest of the ingest node reads ffmpeg playlists: URIs relative to the
 * rendition's own directory (`3/seg-00007.m4s` becomes `seg-00007.m4s`).
 */
export function renditionRelativePlaylist(text: string): string {
  return text.replace(/^(\d+)\//gm, "").replace(/URI="\d+\//g, 'URI="');
}
