import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { unstable_startWorker } from "wrangler";
import { randomToken, type LocalConfig } from "./local-config";

/**
 * Starts the local stack the way production runs it, minus Cloudflare's network: the edge Worker and its
 * Durable Objects in workerd (wrangler's programmatic dev server) with a persisted local R2, and the
 * ingest node as its own process writing into that same R2 store. Used by `npm start` and by every
 * end-to-end test, so the tests exercise exactly what a newcomer runs.
 */
export interface LocalStack {
  edgeUrl: string;
  rtmpServerUrl: string;
  adminToken: string;
  /** the running ingest node (a new one after restartIngest) */
  readonly ingest: ChildProcess;
  /** lines the ingest nodes logged, for tests that assert on why something was refused */
  ingestLog: string[];
  /**
   * Kills the ingest node the way a crash does (SIGKILL, nothing finished), with the processes it started
   * (ffmpeg, the local store's workerd), which would otherwise outlive it. Resolves once it has exited.
   */
  crashIngest(): Promise<void>;
  /** Starts the ingest node again on the same ports, work directory and store, once it has exited. */
  restartIngest(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions extends Omit<LocalConfig, "adminTokenGenerated"> {
  /** forward the ingest node's log lines to this process's stdout */
  echoIngestLog?: boolean;
  /** extra environment for the ingest node (tests use it to tune windows and fault injection) */
  ingestEnv?: Record<string, string>;
}

const INGEST_READY = /ingest ready/;
const INGEST_START_TIMEOUT_MS = 60_000;

export async function startLocalStack(options: StartOptions): Promise<LocalStack> {
  const ingestSecret = randomToken();
  const rtmpServerUrl = `rtmp://127.0.0.1:${options.rtmpPort}/live`;
  const worker = await unstable_startWorker({
    config: "wrangler.toml",
    bindings: {
      ADMIN_TOKEN: { type: "secret_text", value: options.adminToken },
      INGEST_SECRET: { type: "secret_text", value: ingestSecret },
      // Per run: playback tokens minted locally stop working when the stack restarts.
      PLAYBACK_SIGNING_KEY: { type: "secret_text", value: randomToken() },
      RTMP_URL: { type: "plain_text", value: rtmpServerUrl },
      // A webhook receiver on this machine needs no certificate.
      WEBHOOK_ALLOW_HTTP: { type: "plain_text", value: "true" },
    },
    dev: {
      server: { hostname: "127.0.0.1", port: options.httpPort },
      inspector: false,
      persist: options.stateDir,
      watch: false,
    },
  });
  await worker.ready;
  const edgeUrl = `http://127.0.0.1:${options.httpPort}`;

  const ingestLog: string[] = [];
  const ingestEnv = {
    ...process.env,
    ONAIR_RTMP_PORT: String(options.rtmpPort),
    ONAIR_EDGE_URL: edgeUrl,
    ONAIR_INGEST_SECRET: ingestSecret,
    ONAIR_STORAGE: "local-r2",
    ONAIR_LOCAL_R2_PERSIST: options.stateDir,
    ONAIR_WORK_DIR: options.workDir,
    ...options.ingestEnv,
  };
  let ingest: ChildProcess;
  try {
    ingest = await startIngest(ingestEnv, ingestLog, options.echoIngestLog ?? false);
  } catch (error) {
    await worker.dispose();
    throw error;
  }

  let stopped = false;
  return {
    edgeUrl,
    rtmpServerUrl,
    adminToken: options.adminToken,
    get ingest() {
      return ingest;
    },
    ingestLog,
    async crashIngest() {
      const exited = once(ingest, "exit");
      const children = childPids(ingest.pid!);
      ingest.kill("SIGKILL");
      for (const pid of children) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await exited;
    },
    async restartIngest() {
      if (ingest.exitCode === null && ingest.signalCode === null) throw new Error("the ingest node is still running; kill it first");
      ingest = await startIngest(ingestEnv, ingestLog, options.echoIngestLog ?? false);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (ingest.exitCode === null && ingest.signalCode === null) {
        ingest.kill("SIGTERM");
        // The ingest node finalizes playlists on SIGTERM; give it time, then stop waiting.
        const outcome = await Promise.race([
          once(ingest, "exit").then(() => "exited"),
          new Promise((resolve) => setTimeout(() => resolve("timed out"), 10_000).unref()),
        ]);
        if (outcome === "timed out") ingest.kill("SIGKILL");
      }
      await worker.dispose();
    },
  };
}

/** The ingest node as its own process, resolved once it says it is ready. */
async function startIngest(env: NodeJS.ProcessEnv, log: string[], echo: boolean): Promise<ChildProcess> {
  const ingest = spawn(process.execPath, ["--import", "tsx", "ingest-node/main.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the ingest node did not report ready within 60 s; see its log above")), INGEST_START_TIMEOUT_MS);
    for (const stream of [ingest.stdout!, ingest.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        log.push(line);
        if (echo) console.log(line);
        if (INGEST_READY.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    ingest.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the ingest node exited during start-up (code ${code}, signal ${signal}):\n${log.slice(-20).join("\n")}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    ingest.kill("SIGKILL");
    throw error;
  }
  return ingest;
}

/** The processes a process started, children and their children. */
function childPids(pid: number): number[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when there are none
  }
  const children = out.split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
  return children.flatMap((child) => [child, ...childPids(child)]);
}
