import { Hono } from "hono";
import { registryStub, type AppEnv } from "../env";
import { requireBearer } from "../middleware/bearer";
import { readOnlyCors } from "../middleware/cors";
import { jsonError } from "../middleware/errors";
import { SESSION_ID_PATTERN, sessionPrefix, STREAM_ID_PATTERN } from "../shared/layout";
import { PUBLIC_INFO_CACHE_CONTROL } from "./streams";

/**
 * Recordings: sessions of a stream with `record` on, kept whole in R2 once they end (the ingest node
 * announces each with a "recording-ready" event). Listing is public like the stream itself; a recording's
 * hlsUrl plays like the live one (a signed stream's recordings need a playback token too).
 *
 *   GET    /api/streams/:id/recordings             -> {recordings: [{sessionId, hlsUrl, durationSeconds, startedAt, endedAt, renditions}]}
 *   DELETE /api/streams/:id/recordings/:sessionId  (admin) -> 204; its media is deleted from R2
 */
export const recordingRoutes = new Hono<AppEnv>();

/** R2 lists and deletes at most 1000 keys per call. */
const PAGE_SIZE = 1000;

recordingRoutes.use("/api/streams/:id/recordings", readOnlyCors());

recordingRoutes.get("/api/streams/:id/recordings", async (c) => {
  const id = c.req.param("id");
  const recordings = STREAM_ID_PATTERN.test(id) ? await registryStub(c.env).listRecordings(id) : null;
  if (!recordings) return jsonError(c, 404, `no stream ${id}; check the id in your watch URL`);
  const origin = new URL(c.req.url).origin;
  return c.json(
    {
      recordings: recordings.map((r) => ({
        sessionId: r.sessionId,
        hlsUrl: `${origin}${r.masterPath}`,
        durationSeconds: r.durationSeconds,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        renditions: r.renditions,
      })),
    },
    200,
    { "Cache-Control": PUBLIC_INFO_CACHE_CONTROL },
  );
});

recordingRoutes.delete("/api/streams/:id/recordings/:sessionId", requireBearer("ADMIN_TOKEN"), async (c) => {
  const { id, sessionId } = c.req.param();
  const registry = registryStub(c.env);
  const known = STREAM_ID_PATTERN.test(id) && SESSION_ID_PATTERN.test(sessionId) && (await registry.getRecording(id, sessionId)) !== null;
  if (!known) return jsonError(c, 404, `stream ${id} has no recording ${sessionId}; list them with GET /api/streams/${id}/recordings`);
  // Media first: if this fails half-way the recording stays listed, and deleting it again finishes the job.
  await deleteUnder(c.env.MEDIA, sessionPrefix(id, sessionId));
  await registry.deleteRecording(id, sessionId);
  return c.body(null, 204);
});

/** Every object whose key starts with `prefix` (which ends in "/", so session "abc123" never matches "abc1234"). */
async function deleteUnder(bucket: R2Bucket, prefix: string): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: PAGE_SIZE });
    if (page.objects.length > 0) await bucket.delete(page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}
