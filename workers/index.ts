import { Hono } from "hono";
import type { AppEnv } from "./env";
import { handleError, handleNotFound } from "./middleware/errors";
import { noStoreByDefault } from "./middleware/no-store-default";
import { chatRoutes } from "./routes/chat";
import { ingestRoutes } from "./routes/ingest";
import { mediaRoutes } from "./routes/media";
import { pageRoutes } from "./routes/pages";
import { recordingRoutes } from "./routes/recordings";
import { streamHealthRoutes } from "./routes/stream-health";
import { streamRoutes } from "./routes/streams";

export { StreamRegistry } from "../durable-objects/stream-registry";
export { ChatRoom } from "../durable-objects/chat-room";
export { PlaylistGate } from "../durable-objects/playlist-gate";

const app = new Hono<AppEnv>();

app.use("*", noStoreByDefault);

app.get("/healthz", (c) => c.json({ ok: true }));
app.route("/", mediaRoutes);
app.route("/", streamRoutes);
app.route("/", recordingRoutes);
app.route("/", streamHealthRoutes);
app.route("/", chatRoutes);
app.route("/", ingestRoutes);
app.route("/", pageRoutes);

app.onError(handleError);
app.notFound(handleNotFound);

export default app;
