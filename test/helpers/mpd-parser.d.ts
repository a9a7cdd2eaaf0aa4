// mpd-parser ships no types; this declares the part the tests use.
declare module "mpd-parser" {
  export interface MpdSegment {
    uri: string;
    resolvedUri: string;
    /** seconds */
    duration: number;
    /** seconds on the MPD timeline */
    presentationTime: number;
    /** the Period's start */
    timeline: number;
    number: number;
    discontinuity?: boolean;
    map: { uri: string; resolvedUri: string };
  }
  export interface MpdPlaylist {
    attributes: {
      NAME: string;
      BANDWIDTH: number;
      CODECS: string;
      RESOLUTION?: { width: number; height: number };
      "FRAME-RATE"?: number;
    };
    segments: MpdSegment[];
    discontinuityStarts: number[];
    timelineStarts: { start: number; timeline: number }[];
  }
  export interface MpdManifest {
    playlists: MpdPlaylist[];
    mediaGroups: { AUDIO: Record<string, Record<string, { playlists: MpdPlaylist[] }>> };
    minimumUpdatePeriod?: number;
    suggestedPresentationDelay?: number;
    /** seconds; 0 while unknown */
    duration: number;
    timelineStarts: { start: number; timeline: number }[];
  }
  export function parse(manifest: string, options: { manifestUri: string; NOW?: number; clientOffset?: number }): MpdManifest;
}
