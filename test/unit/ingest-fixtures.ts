import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { INGEST_AUTHORIZE_PATH, INGEST_EVENTS_PATH, INGEST_PARTS_PATH, INGEST_PLAYLISTS_PATH, type AuthorizeResponse, type IngestEvent, type PartialPlaylistNotice, type PlaylistStoredNotice } from "../../workers/shared/ingest-api";
import { loadConfig } from "../../ingest-node/config";
import { startIngestNode, type IngestNode, type IngestNodeDeps } from "../../ingest-node/ingest-node";
import { createLogger, type Logger } from "../../ingest-node/logger";
import { freePort } from "../helpers/stack";
import type { ObjectStore, PutOptions } from "../../ingest-node/storage/object-store";

/** Shared by the ingest node's unit tests: a fake edge, a recording store, a publisher, a log capture. */

export { freePort };

export interface InProcessIngest {
  node: IngestNode;
  /** the node's spool directory, fresh for this test file */
  workDir: string;
  rtmpPort: number;
  /** stops the node and the fake edge, prints the log when ONAIR_VERBOSE=1, removes the spool */
  stop(): Promise<void>;
}

/** The whole ingest node in this process on a free port, configured the way main.ts would be. */
export async function startInProcessIngest(options: {
  name: string;
  secret: string;
  edge: FakeEdge;
  store: ObjectStore;
  log: { logger: Logger; lines: string[] };
  env?: Record<string, string>;
  /** an encoder, health interval or speed monitor setting of the test's own */
  tuning?: Omit<IngestNodeDeps, "store" | "logger">;
}): Promise<InProcessIngest> {
  const workDir = await mkdtemp(join(tmpdir(), `onair-${options.name}-test-`));
  const rtmpPort = await freePort();
  const config = loadConfig({
    ONAIR_INGEST_SECRET: options.secret,
    ONAIR_EDGE_URL: options.edge.url,
    ONAIR_RTMP_PORT: String(rtmpPort),
    ONAIR_WORK_DIR: workDir,
    ...options.env,
  });
  const node = await startIngestNode(config, {
    store: options.store,
    logger: options.log.logger,
    // Suites other than ingest-shed.test.ts are not about keeping up: on a busy test machine their ladder
    // may run behind for a while, and shedding would change the renditions they check.
    speed: { maxLagSeconds: 60 },
    ...options.tuning,
  });
  return {
    node,
    workDir,
    rtmpPort,
    async stop() {
      await node.stop();
      await options.edge.close();
      if (process.env.ONAIR_VERBOSE === "1") console.log(options.log.lines.join("\n"));
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** A stream key made from the stream id, added to a fake edge's key table (which it answers authorize from). */
export function registerStreamKey(streams: Record<string, string>, streamId: string): string {
  const key = `sk_${Buffer.from(streamId).toString("hex").padEnd(40, "0").slice(0, 40)}`;
  streams[key] = streamId;
  return key;
}

export interface FakeEdge {
  url: string;
  /** stream key -> stream id; tests may add keys */
  streams: Record<string, string>;
  /** stream ids whose sessions are recorded (authorize answers record: true); tests may add some */
  recorded: Set<string>;
  /** every event the edge accepted, in arrival order */
  events: IngestEvent[];
  /** events answered 503 (the edge blipping), in arrival order */
  refused: IngestEvent[];
  /** the next events of these types are answered 503 this many times, like a Worker deploy in progress */
  blip: Partial<Record<IngestEvent["type"], number>>;
  authorizeCalls: string[];
  /** every "playlist stored" notice, in arrival order */
  playlistNotices: PlaylistStoredNotice[];
  /** every LL-HLS playlist (parts) sent, in arrival order */
  partialNotices: PartialPlaylistNotice[];
  /** events of one stream, of one type if given */
  eventsOf(streamId: string, type?: IngestEvent["type"]): IngestEvent[];
  close(): Promise<void>;
}

/** The Worker's two internal ingest routes, answering from a fixed key -> streamId table. */
export async function startFakeEdge(secret: string, streams: Record<string, string>, recorded: Iterable<string> = []): Promise<FakeEdge> {
  const events: IngestEvent[] = [];
  const refused: IngestEvent[] = [];
  const blip: FakeEdge["blip"] = {};
  const recordedStreams = new Set(recorded);
  const authorizeCalls: string[] = [];
  const playlistNotices: PlaylistStoredNotice[] = [];
  const partialNotices: PartialPlaylistNotice[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.headers.authorization !== `Bearer ${secret}`) return void res.writeHead(401).end();
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    if (req.method === "POST" && req.url === INGEST_AUTHORIZE_PATH) {
      const key = String(body.streamKey);
      authorizeCalls.push(key);
      const streamId = streams[key];
      if (!streamId) return void res.writeHead(403, { "content-type": "application/json" }).end('{"error":"unknown or revoked stream key"}');
      const answer: AuthorizeResponse = { streamId, record: recordedStreams.has(streamId) };
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    }
    if (req.method === "POST" && req.url === INGEST_EVENTS_PATH) {
      const event = body as unknown as IngestEvent;
      if ((blip[event.type] ?? 0) > 0) {
        blip[event.type]! -= 1;
        refused.push(event);
        return void res.writeHead(503).end("deploy in progress");
      }
      events.push(event);
      return void res.writeHead(204).end();
    }
    if (req.method === "POST" && req.url === INGEST_PLAYLISTS_PATH) {
      playlistNotices.push(body as unknown as PlaylistStoredNotice);
      return void res.writeHead(204).end();
    }
    if (req.method === "POST" && req.url === INGEST_PARTS_PATH) {
      partialNotices.push(body as unknown as PartialPlaylistNotice);
      return void res.writeHead(204).end();
    }
    res.writeHead(404).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    streams,
    recorded: recordedStreams,
    events,
    refused,
    blip,
    authorizeCalls,
    playlistNotices,
    partialNotices,
    eventsOf: (streamId, type) => events.filter((e) => e.streamId === streamId && (type === undefined || e.type === type)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface RecordedPut extends PutOptions {
  key: string;
  body: Uint8Array;
}

/** Keeps objects in memory and every put in order, so tests can check what was stored before what. */
export class RecordingStore implements ObjectStore {
  readonly puts: RecordedPut[] = [];
  readonly objects = new Map<string, RecordedPut>();
  readonly deleted: string[] = [];

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<void> {
    const put = { key, body: new Uint8Array(body), ...options };
    this.puts.push(put);
    this.objects.set(key, put);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
    this.deleted.push(...keys);
  }

  async close(): Promise<void> {}

  text(key: string): string | undefined {
    const put = this.objects.get(key);
    return put && Buffer.from(put.body).toString("utf8");
  }
}

export interface PublishOptions {
  url: string;
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
  /** the publisher's x264 preset: veryfast like OBS's default; ultrafast leaves the machine to the ingest node */
  preset?: string;
  /** seconds between keyframes (OBS's "Keyframe Interval"); 2 unless said */
  keyframeSeconds?: number;
}

export interface Publishing {
  exited: Promise<number | null>;
  /** SIGINT: ffmpeg ends the publish as OBS's "Stop Streaming" does */
  stop(): void;
  /** SIGSTOP / SIGCONT: an encoder that hangs with its connection open */
  pause(): void;
  resume(): void;
}

/** An OBS stand-in: a test pattern (and tone) pushed over RTMP in real time. */
export function publish(o: PublishOptions): Publishing {
  const { width = 1280, height = 720, fps = 30, audio = true, preset = "veryfast", keyframeSeconds = 2 } = o;
  const child = spawn(
    "ffmpeg",
    [
      "-hide_banner", "-loglevel", "error", "-nostdin",
      "-re", "-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}`,
      ...(audio ? ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
      "-t", String(o.seconds),
      "-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", String(Math.round(fps * keyframeSeconds)),
      ...(audio ? ["-c:a", "aac", "-b:a", "128k"] : []),
      "-f", "flv", o.url,
    ],
    { stdio: "ignore" },
  );
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    exited,
    stop: () => child.kill("SIGINT"),
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
  };
}

/** A pino logger whose JSON lines are kept for assertions (and not printed). */
export function captureLogger(level = "debug"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: createLogger(level, destination), lines };
}

export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
