import { SEGMENT_FILE_PATTERN } from "../../workers/shared/layout";

/**
 * Media playlists both ways. ffmpeg's are read for what they name (files, durations, whether final);
 * the stored ones are rendered by us, because a stream outlives any one ffmpeg: after an ffmpeg restart
 * or a publisher's reconnect the numbering must continue and the break be marked, which ffmpeg (whose
 * numbering starts over with each process) cannot do. Pure.
 */
export interface PlaylistSegment {
  /** file name next to the playlist, e.g. seg-00007.m4s */
  uri: string;
  /** the number in the file name, which ffmpeg keeps equal to its media sequence number */
  sequence: number;
  /** EXTINF, seconds */
  duration: number;
}

export interface MediaPlaylist {
  /** the init segment's file name as ffmpeg wrote it (init_1.mp4) */
  initUri: string;
  targetDuration: number;
  segments: PlaylistSegment[];
  ended: boolean;
}

export class PlaylistError extends Error {}

const MAP_LINE = /^#EXT-X-MAP:URI="([^"]+)"/;
const EXTINF_LINE = /^#EXTINF:([0-9.]+)/;
const TARGET_LINE = /^#EXT-X-TARGETDURATION:([0-9]+)/;

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== "#EXTM3U") throw new PlaylistError("not an HLS playlist (no #EXTM3U)");
  let initUri: string | undefined;
  let targetDuration = 0;
  let duration: number | null = null;
  const segments: PlaylistSegment[] = [];
  for (const line of lines) {
    const map = MAP_LINE.exec(line);
    if (map) initUri = map[1];
    const target = TARGET_LINE.exec(line);
    if (target) targetDuration = Number(target[1]);
    const extinf = EXTINF_LINE.exec(line);
    if (extinf) duration = Number(extinf[1]);
    if (line === "" || line.startsWith("#")) continue;
    const match = SEGMENT_FILE_PATTERN.exec(line);
    if (!match) throw new PlaylistError(`unexpected segment name ${JSON.stringify(line)}; the layout allows seg-NNNNN.m4s`);
    if (duration === null) throw new PlaylistError(`segment ${line} has no #EXTINF`);
    segments.push({ uri: line, sequence: Number(match[1]), duration });
    duration = null;
  }
  if (!initUri || initUri.includes("/")) throw new PlaylistError("a CMAF media playlist needs an EXT-X-MAP init segment next to it");
  return { initUri, targetDuration, segments, ended: lines.includes("#EXT-X-ENDLIST") };
}

export interface ListedSegment {
  uri: string;
  duration: number;
  /** the stored init segment it decodes with (layout: init-<n>.mp4) */
  initFile: string;
  /** a break in the timeline (another ffmpeg, or segments lost) right before this segment */
  discontinuity: boolean;
  /** where it starts on the wall clock (ms since the epoch), if known: EXT-X-PROGRAM-DATE-TIME */
  programDateMs?: number | null;
  /** its LL-HLS parts, when they are listed (only for the newest segments) */
  parts?: readonly ListedPart[];
}

/** An LL-HLS partial segment (EXT-X-PART). */
export interface ListedPart {
  uri: string;
  duration: number;
  /** starts with a keyframe (a segment's first part): a player may start or switch here */
  independent: boolean;
}

/** What makes a live playlist an LL-HLS one: parts, and the segment they belong to that is still growing. */
export interface LowLatency {
  /** EXT-X-PART-INF: no part is longer */
  partTargetSeconds: number;
  /** the segment after the last listed one, not complete yet: its parts so far */
  growing: { programDateMs: number | null; parts: readonly ListedPart[] } | null;
  /** the part expected next (EXT-X-PRELOAD-HINT) */
  nextPartUri: string;
}

export interface RenderInput {
  /** the first listed segment's media sequence number */
  mediaSequence: number;
  /** discontinuities that have slid out of the window */
  discontinuitySequence: number;
  targetDuration: number;
  segments: readonly ListedSegment[];
  ended: boolean;
  /** the whole session, final: a recording (EXT-X-PLAYLIST-TYPE:VOD) */
  vod?: boolean;
  /** parts: a live playlist the edge serves from memory (never stored: it changes with every part) */
  lowLatency?: LowLatency;
}

/**
 * Players sit this many part targets behind the live edge (PART-HOLD-BACK). RFC 8216bis asks for at
 * least two and recommends three: with two, one late part stalls the player.
 */
const PART_HOLD_BACK_PARTS = 3;

/**
 * A stored CMAF media playlist. EXT-X-MAP names the init segment of the segments after it, and is
 * repeated wherever that changes (a new ffmpeg whose media differs: always after a discontinuity).
 */
export function renderMediaPlaylist(p: RenderInput): string {
  // The target duration must cover every segment's duration rounded to the nearest second (RFC 8216 4.3.3.1).
  const target = Math.max(p.targetDuration, ...p.segments.map((s) => Math.round(s.duration)));
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    `#EXT-X-TARGETDURATION:${target}`,
    ...(p.ended || p.vod ? [] : [serverControl(p.lowLatency)]),
    ...(p.lowLatency && !p.ended ? [`#EXT-X-PART-INF:PART-TARGET=${p.lowLatency.partTargetSeconds.toFixed(3)}`] : []),
    `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`,
    ...(p.vod ? ["#EXT-X-PLAYLIST-TYPE:VOD"] : []),
    "#EXT-X-INDEPENDENT-SEGMENTS",
  ];
  let initFile: string | null = null;
  for (const s of p.segments) {
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    if (s.initFile !== initFile) lines.push(`#EXT-X-MAP:URI="${s.initFile}"`);
    initFile = s.initFile;
    // On every segment rather than extrapolated from the first: players line renditions up by it, and
    // after a discontinuity only a fresh date says where the new run sits.
    if (s.programDateMs != null) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateMs).toISOString()}`);
    // Parts only while live: an ended playlist is played from whole segments.
    lines.push(...partLines(p.ended ? [] : (s.parts ?? [])), `#EXTINF:${s.duration.toFixed(6)},`, s.uri);
  }
  const growing = p.ended ? null : p.lowLatency?.growing;
  if (growing && growing.parts.length > 0) {
    if (growing.programDateMs != null) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(growing.programDateMs).toISOString()}`);
    lines.push(...partLines(growing.parts));
  }
  // Always after the last segment or part: hls.js takes whatever follows the last segment URI as the
  // segment to come, and without a hint there it takes the last whole segment for that, twice on its
  // timeline (it then plays from a window shifted by a segment, back and forth). Players that fetch the
  // hinted part early (Safari) are held at the edge until it is stored.
  if (p.lowLatency && !p.ended) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${p.lowLatency.nextPartUri}"`);
  if (p.ended) lines.push("#EXT-X-ENDLIST");
  return `${lines.join("\n")}\n`;
}

function serverControl(lowLatency: LowLatency | undefined): string {
  // The edge holds `_HLS_msn` (and `_HLS_part`) requests until that segment (part) is there
  // (workers/media/blocking-reload.ts): players learn of it the moment it is stored, not at their next poll.
  if (!lowLatency) return "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES";
  return `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${(lowLatency.partTargetSeconds * PART_HOLD_BACK_PARTS).toFixed(3)}`;
}

function partLines(parts: readonly ListedPart[]): string[] {
  return parts.map((part) => `#EXT-X-PART:DURATION=${part.duration.toFixed(6)},URI="${part.uri}"${part.independent ? ",INDEPENDENT=YES" : ""}`);
}
