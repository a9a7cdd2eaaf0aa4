import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { masterPlaylistKey, renditionKey } from "../../workers/shared/layout";
import { freePort, publish, startFakeEdge, waitFor, type FakeEdge } from "./ingest-fixtures";

/**
 * `tsx ingest-node/main.ts` as the start script runs it, writing through the S3 adapter to s3rver:
 * the ready line, and a SIGTERM in the middle of a live stream that still ends every playlist.
 */
const SECRET = "main-test-secret";
const KEY = `sk_${"c3".repeat(20)}`;
const STREAM_ID = "mainstream01";
const BUCKET = "onair-media";

describe("the ingest node process", () => {
  let edge: FakeEdge;
  let s3: S3rver;
  let s3Dir: string;
  let workDir: string;
  let endpoint: string;

  beforeAll(async () => {
    edge = await startFakeEdge(SECRET, { [KEY]: STREAM_ID });
    s3Dir = await mkdtemp(join(tmpdir(), "onair-main-s3-"));
    workDir = await mkdtemp(join(tmpdir(), "onair-main-work-"));
    const port = await freePort();
    s3 = new S3rver({ address: "127.0.0.1", port, silent: true, directory: s3Dir, configureBuckets: [{ name: BUCKET }] });
    await s3.run();
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await edge?.close();
    await s3?.close();
    await rm(s3Dir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it("refuses to start without its secret, naming the variable", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "ingest-node/main.ts"], { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(stderr).toMatch(/ONAIR_INGEST_SECRET: is required/);
  }, 30_000);

  it("shuts down gracefully on SIGTERM in local-r2 mode too (wrangler's own signal hooks do not cut it short)", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "ingest-node/main.ts"], {
      env: {
        PATH: process.env.PATH,
        ONAIR_RTMP_PORT: String(await freePort()),
        ONAIR_EDGE_URL: edge.url,
        ONAIR_INGEST_SECRET: SECRET,
        ONAIR_WORK_DIR: workDir,
        ONAIR_LOCAL_R2_PERSIST: join(workDir, "state"),
      },
      stdio: ["ignore", "pipe", "ignore"],
    });
    const log: string[] = [];
    createInterface({ input: child.stdout! }).on("line", (line) => log.push(line));
    const exited = once(child, "exit");
    await waitFor(() => log.some((l) => l.includes('"msg":"ingest ready"')), 20_000);
    child.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(0);
    expect(log.some((l) => l.includes('"msg":"ingest stopped"'))).toBe(true);
  }, 30_000);

  it("logs ingest ready, and on SIGTERM while live ends every playlist and tells the edge idle", async () => {
    const rtmpPort = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "ingest-node/main.ts"], {
      env: {
        PATH: process.env.PATH,
        ONAIR_RTMP_PORT: String(rtmpPort),
        ONAIR_EDGE_URL: edge.url,
        ONAIR_INGEST_SECRET: SECRET,
        ONAIR_WORK_DIR: workDir,
        ONAIR_STORAGE: "s3",
        ONAIR_S3_ENDPOINT: endpoint,
        ONAIR_S3_BUCKET: BUCKET,
        ONAIR_S3_ACCESS_KEY_ID: "S3RVER",
        ONAIR_S3_SECRET_ACCESS_KEY: "S3RVER",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log: string[] = [];
    createInterface({ input: child.stdout! }).on("line", (line) => log.push(line));
    createInterface({ input: child.stderr! }).on("line", (line) => log.push(line));
    const exited = once(child, "exit");

    await waitFor(() => log.some((l) => l.includes('"msg":"ingest ready"')), 20_000);
    const ready = JSON.parse(log.find((l) => l.includes('"msg":"ingest ready"'))!) as { rtmpUrl: string };
    expect(ready.rtmpUrl).toBe(`rtmp://127.0.0.1:${rtmpPort}/live`);

    const publisher = publish({ url: `${ready.rtmpUrl}/${KEY}`, seconds: 60 });
    await waitFor(() => edge.events.some((e) => e.type === "live"), 20_000);
    child.kill("SIGTERM");
    const [code] = await exited;
    publisher.stop();
    await publisher.exited;
    expect(code, log.join("\n")).toBe(0);

    expect(edge.events.map((e) => e.type)).toEqual(["live", "idle"]);
    const sessionId = edge.events[0]!.sessionId;
    const s3Client = new S3Client({ endpoint, region: "auto", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    const read = async (key: string) => (await (await s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString());
    expect(await read(masterPlaylistKey(STREAM_ID))).toContain(`${sessionId}/720p/index.m3u8`);
    for (const rendition of edge.events[0]!.renditions!) {
      expect(await read(renditionKey(STREAM_ID, sessionId, rendition, "index.m3u8"))).toMatch(/#EXT-X-ENDLIST\n$/);
    }
    const listed = await s3Client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(listed.Contents!.length).toBeGreaterThan(10);
    s3Client.destroy();
    expect(log.join("\n")).not.toContain(KEY);
    expect(log.some((l) => l.includes('"msg":"ingest stopped"'))).toBe(true);
  }, 60_000);
});
