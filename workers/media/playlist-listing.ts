/**
 * What the edge reads from a stored media playlist's text: how long it may be cached (ended or not, its
 * target duration: origin.ts) and whether it lists a segment yet (blocking-reload.ts). One reader for both.
 */
export interface PlaylistListing {
  /** media sequence number of the last segment listed; -1 when none is */
  last: number;
  ended: boolean;
  /** EXT-X-TARGETDURATION, if the playlist states it */
  targetDurationSeconds: number | undefined;
}

export function playlistListing(text: string): PlaylistListing {
  const first = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)\s*$/m.exec(text)?.[1] ?? 0);
  const segments = text.match(/^#EXTINF:/gm)?.length ?? 0;
  const targetDuration = /^#EXT-X-TARGETDURATION:(\d+)\s*$/m.exec(text)?.[1];
  return {
    last: first + segments - 1,
    ended: /^#EXT-X-ENDLIST\s*$/m.test(text),
    targetDurationSeconds: targetDuration === undefined ? undefined : Number(targetDuration),
  };
}
