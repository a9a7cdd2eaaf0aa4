// m3u8-parser ships no types; this declares the part the tests use.
declare module "m3u8-parser" {
  export interface ParsedSegment {
    uri: string;
    duration: number;
    discontinuity?: boolean;
    map?: { uri: string };
    programDateTime?: number;
    /** the segment's own EXT-X-PROGRAM-DATE-TIME, as written */
    dateTimeString?: string;
  }
  export interface ParsedPlaylist {
    uri: string;
    attributes: {
      BANDWIDTH?: number;
      "AVERAGE-BANDWIDTH"?: number;
      RESOLUTION?: { width: number; height: number };
      CODECS?: string;
      "FRAME-RATE"?: number;
      AUDIO?: string;
    };
  }
  export interface ParsedManifest {
    playlists?: ParsedPlaylist[];
    mediaGroups?: { AUDIO?: Record<string, Record<string, { uri?: string; default?: boolean }>> };
    segments: ParsedSegment[];
    mediaSequence?: number;
    targetDuration?: number;
    endList?: boolean;
    discontinuitySequence?: number;
    /** indexes into segments of those preceded by EXT-X-DISCONTINUITY */
    discontinuityStarts: number[];
  }
  export class Parser {
    push(chunk: string): void;
    end(): void;
    manifest: ParsedManifest;
  }
}
