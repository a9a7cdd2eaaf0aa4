import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_DevEnv } from "wrangler";
import { randomToken } from "../../scripts/local-config";
import { freePort } from "./stack";

/**
 * Only the edge Worker and its Durable Objects (no ingest node, no ffmpeg), started from wrangler.toml the
 * way `npm start` starts it, on a free port with fresh persisted state. Enough for chat tests and the
 * chat benchmark.
 */
export interface EdgeWorker {
  /** through wrangler's dev proxy: what a developer's browser talks to */
  url: string;
  /** workerd's own socket, bypassing the proxy (the proxy costs most of a local round-trip) */
  directUrl: string;
  adminToken: string;
  stop(): Promise<void>;
}

export interface EdgeWorkerOptions {
  /** serve static assets from here instead of web/dist (which a running stack may be serving) */
  assetsDir?: string;
}

export async function startEdgeWorker(options: EdgeWorkerOptions = {}): Promise<EdgeWorker> {
  const root = await mkdtemp(join(tmpdir(), "onair-edge-"));
  const adminToken = randomToken();
  const port = await freePort();
  // unstable_startWorker() does not expose workerd's own address; its runtime announces it on the
  // DevEnv's event bus once the Worker is loaded (after the proxy reports ready), so listen there.
  const devEnv = new unstable_DevEnv();
  const dispatch = devEnv.dispatch.bind(devEnv);
  const directUrl = new Promise<string>((resolve) => {
    devEnv.dispatch = (event) => {
      if (event.type === "reloadComplete") {
        const { protocol, hostname, port: userPort } = event.proxyData.userWorkerUrl;
        resolve(`${protocol}//${hostname}:${userPort}`);
      }
      dispatch(event);
    };
  });
  const worker = await devEnv.startWorker({
    config: "wrangler.toml",
    ...(options.assetsDir ? { assets: options.assetsDir } : {}),
    bindings: {
      ADMIN_TOKEN: { type: "secret_text", value: adminToken },
      INGEST_SECRET: { type: "secret_text", value: randomToken() },
    },
    dev: {
      server: { hostname: "127.0.0.1", port },
      inspector: false,
      persist: join(root, "state"),
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("workerd did not start within 60 s")), 60_000).unref());
  return {
    url: `http://127.0.0.1:${port}`,
    directUrl: await Promise.race([directUrl, timeout]),
    adminToken,
    async stop() {
      await worker.dispose();
      await rm(root, { recursive: true, force: true });
    },
  };
}
