import type { MediaKind } from "../shared/layout";

/**
 * What the media path has cost this isolate since it started: storage reads by kind, answers from this
 * isolate's memory and from caches.default, requests that joined another's read, registry lookups,
 * blocking playlist reloads that waited and those that gave up, partial playlists answered from the
 * PlaylistGate (and of those, the ones that waited and gave up). Served to operators by GET /internal/metrics;
 * the edge benchmark reads it to count R2 reads per segment. Per isolate: production runs many isolates,
 * each with its own counts (wrangler dev runs one, so there the counts are whole).
 */
export const mediaCounters = {
  r2Reads: 0,
  r2ReadsByKind: {
    "master-playlist": 0,
    "media-playlist": 0,
    "dash-manifest": 0,
    "init-segment": 0,
    "media-segment": 0,
    poster: 0,
  } satisfies Record<MediaKind, number>,
  memoryHits: 0,
  cacheHits: 0,
  collapsedRequests: 0,
  registryLookups: 0,
  /** blocking playlist reloads (one per isolate and media sequence number) that had to wait for the segment */
  blockingWaits: 0,
  /** of those, the ones whose segment did not come within three target durations */
  blockingTimeouts: 0,
  /** media playlists answered from the PlaylistGate's partial playlist (one per isolate and msn/part asked), timeouts included */
  partialAnswers: 0,
  /** of those, the ones that had to wait for a part or segment */
  partialWaits: 0,
  /** of those, the ones it did not come for within three target durations */
  partialTimeouts: 0,
};

// Random values may not be generated at global scope in workerd: named on first use.
let isolateId: string | undefined;

export function mediaMetrics() {
  isolateId ??= crypto.randomUUID();
  return { isolate: isolateId, ...mediaCounters, r2ReadsByKind: { ...mediaCounters.r2ReadsByKind } };
}
