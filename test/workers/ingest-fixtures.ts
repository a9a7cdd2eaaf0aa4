import type { IngestHealth, RecordingInfo } from "../../workers/shared/ingest-api";
import { sessionMasterPath } from "../../workers/shared/layout";
import { INGEST_SECRET, postJson } from "./helpers";

/** Events as the ingest node sends them (workers/shared/ingest-api.ts). */
export const sendEvent = (event: Record<string, unknown>, secret: string | null = INGEST_SECRET) =>
  postJson("/internal/ingest/events", event, secret);

export function sampleHealth(overrides: Partial<IngestHealth> = {}): IngestHealth {
  return {
    inputKbps: 4500,
    inputFps: 30,
    keyframeIntervalSeconds: 2,
    encoderSpeed: 1.6,
    lagSeconds: 0.4,
    renditions: ["1080p", "720p", "audio"],
    shed: [],
    droppedSegments: 0,
    ladder: { topRung: "passthrough", reason: "source keyframes every 2 s" },
    measuredAt: "2026-07-01T18:00:05.000Z",
    ...overrides,
  };
}

export function recordingOf(streamId: string, sessionId: string, startedAt = "2026-07-01T18:00:00.000Z", durationSeconds = 30): RecordingInfo {
  return {
    masterPath: sessionMasterPath(streamId, sessionId),
    durationSeconds,
    startedAt,
    endedAt: new Date(Date.parse(startedAt) + durationSeconds * 1000).toISOString(),
    renditions: ["720p", "360p", "audio"],
  };
}
