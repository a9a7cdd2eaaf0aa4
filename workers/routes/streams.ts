import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { StreamRecord } from "../../durable-objects/stream-registry";
import { webhookUrlProblem } from "../../durable-objects/registry/webhook-url";
import { registryStub, type AppEnv } from "../env";
import { forgetStreamAccess } from "../media/stream-access";
import { requireBearer } from "../middleware/bearer";
import { readOnlyCors } from "../middleware/cors";
import { jsonError } from "../middleware/errors";
import { jsonBody } from "../middleware/json-body";
import { dashPath, hlsPath, STREAM_ID_PATTERN, watchPath } from "../shared/layout";
import { viewerCount } from "./chat";
import { playbackTokenRoutes } from "./playback-tokens";

// Its form is checked with the Worker's WEBHOOK_ALLOW_HTTP (webhookUrlProblem), so the message can say what to fix.
const webhookUrl = z.string();

const createStreamBody = z.object({
  title: z.string().trim().min(1, "title must not be empty").max(120, "title must be at most 120 characters"),
  /** viewers need a playback token (POST /api/streams/:id/playback-tokens) */
  signedPlayback: z.boolean().optional(),
  /** every session is kept as a recording (GET /api/streams/:id/recordings) */
  record: z.boolean().optional(),
  webhookUrl: webhookUrl.optional(),
});

const SETTINGS = ["signedPlayback", "record", "webhookUrl"] as const;

// Only what can change after creation; unknown fields are refused rather than silently ignored.
const updateStreamBody = z
  .strictObject(
    { signedPlayback: z.boolean().optional(), record: z.boolean().optional(), webhookUrl: webhookUrl.nullable().optional() },
    { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown field ${issue.keys.join(", ")}; send any of ${SETTINGS.join(", ")}` : undefined) },
  )
  .refine((body) => SETTINGS.some((name) => body[name] !== undefined), `send at least one of ${SETTINGS.join(", ")}`);

/**
 * Public stream info is read by every viewer's page, and all of it comes from one registry object: a
 * couple of seconds in Workers Cache turns thousands of viewers into one read per data centre, at the
 * price of a status change showing up to 2 s late. stale-if-error=0: never show "live" forever.
 */
export const PUBLIC_INFO_CACHE_CONTROL = "public, max-age=2, s-maxage=2, stale-if-error=0";

export const streamRoutes = new Hono<AppEnv>();

const admin = requireBearer("ADMIN_TOKEN");

// Reading is public (players and embeds on other sites call it). CORS allows only GET and HEAD and no
// Authorization header, so other origins still cannot use the admin routes.
streamRoutes.use("/api/streams", readOnlyCors());
streamRoutes.use("/api/streams/:id", readOnlyCors());

streamRoutes.post("/api/streams", admin, jsonBody(createStreamBody), async (c) => {
  const { title, signedPlayback = false, record, webhookUrl } = c.req.valid("json");
  const problem = webhookUrl === undefined ? null : webhookUrlProblem(webhookUrl, c.env.WEBHOOK_ALLOW_HTTP === "true");
  if (problem) return jsonError(c, 400, `invalid body: webhookUrl: ${problem}`);
  const created = await registryStub(c.env).createStream(title, signedPlayback, { record, webhookUrl });
  return c.json(
    { ...adminView(c, created.record), streamKey: created.streamKey, rtmpUrl: c.env.RTMP_URL, ...secretOnce(created.webhookSecret) },
    201,
    { Location: `/api/streams/${created.record.id}` },
  );
});

/** `GET /api/streams?status=live` is the public list for the home page; any other listing is for the admin. */
const publicLiveListing: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.query("status") !== "live") return next();
  const records = await registryStub(c.env).listLive();
  return c.json(
    await Promise.all(records.map((record) => withViewers(c, record))),
    200,
    { "Cache-Control": PUBLIC_INFO_CACHE_CONTROL },
  );
};

streamRoutes.get("/api/streams", publicLiveListing, admin, async (c) => {
  const records = await registryStub(c.env).listStreams();
  return c.json({ streams: records.map((record) => adminView(c, record)) });
});

streamRoutes.get("/api/streams/:id", async (c) => {
  const id = c.req.param("id");
  const record = STREAM_ID_PATTERN.test(id) ? await registryStub(c.env).getStream(id) : null;
  if (!record || record.revoked) return jsonError(c, 404, `no stream ${id}; check the id in your watch URL`);
  return c.json(await withViewers(c, record), 200, { "Cache-Control": PUBLIC_INFO_CACHE_CONTROL });
});

/**
 * Changes settings. Signed playback reaches other isolates within seconds (workers/media/stream-access.ts);
 * `record` applies from the next publish. A webhook URL gets a new secret, answered this once.
 */
streamRoutes.patch("/api/streams/:id", admin, jsonBody(updateStreamBody), async (c) => {
  const id = c.req.param("id");
  const changes = c.req.valid("json");
  const problem = typeof changes.webhookUrl === "string" ? webhookUrlProblem(changes.webhookUrl, c.env.WEBHOOK_ALLOW_HTTP === "true") : null;
  if (problem) return jsonError(c, 400, `invalid body: webhookUrl: ${problem}`);
  const updated = STREAM_ID_PATTERN.test(id) ? await registryStub(c.env).updateStream(id, changes) : null;
  if (!updated) return jsonError(c, 404, `no stream ${id}; list streams with GET /api/streams`);
  forgetStreamAccess(id);
  return c.json({ ...adminView(c, updated.record), ...secretOnce(updated.webhookSecret) });
});

/** A new stream key; the old one stops authorizing at once (a publish already running goes on). */
streamRoutes.post("/api/streams/:id/key", admin, async (c) => {
  const id = c.req.param("id");
  const streamKey = STREAM_ID_PATTERN.test(id) ? await registryStub(c.env).rotateKey(id) : null;
  if (!streamKey) return jsonError(c, 404, `no stream ${id}; list streams with GET /api/streams`);
  return c.json({ streamKey, rtmpUrl: c.env.RTMP_URL });
});

streamRoutes.delete("/api/streams/:id", admin, async (c) => {
  const id = c.req.param("id");
  const found = STREAM_ID_PATTERN.test(id) && (await registryStub(c.env).revokeStream(id));
  if (!found) return jsonError(c, 404, `no stream ${id}; list streams with GET /api/streams`);
  forgetStreamAccess(id);
  return c.body(null, 204);
});

streamRoutes.route("/", playbackTokenRoutes);

/**
 * What anyone may know about a stream: never the key, nor whether it was revoked. signedPlayback tells a
 * player that hlsUrl alone will be refused (403) without a token from the embedding site.
 */
function publicView(c: Context<AppEnv>, record: StreamRecord) {
  const origin = new URL(c.req.url).origin;
  return {
    id: record.id,
    title: record.title,
    status: record.status,
    hlsUrl: `${origin}${hlsPath(record.id)}`,
    dashUrl: `${origin}${dashPath(record.id)}`,
    watchUrl: `${origin}${watchPath(record.id)}`,
    renditions: record.renditions,
    sessionId: record.sessionId,
    signedPlayback: record.signedPlayback,
    record: record.record,
  };
}

/** The public view plus the viewer count from the stream's chat room (one connection per client id). */
async function withViewers(c: Context<AppEnv>, record: StreamRecord) {
  return { ...publicView(c, record), viewers: await viewerCount(c.env, record.id) };
}

/** Never the webhook secret: it is shown once, when set. */
function adminView(c: Context<AppEnv>, record: StreamRecord) {
  return { ...publicView(c, record), createdAt: record.createdAt, revoked: record.revoked, webhookUrl: record.webhookUrl };
}

function secretOnce(webhookSecret: string | undefined) {
  return webhookSecret ? { webhookSecret } : {};
}
