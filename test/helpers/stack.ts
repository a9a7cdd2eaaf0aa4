import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomToken } from "../../scripts/local-config";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { startTestPattern } from "../../scripts/test-pattern";

/**
 * A port nobody is listening on right now. Drawn below Linux's ephemeral range (32768+), where the kernel
 * hands out ports to every listen(0) and outgoing connection (workerd opens several while it starts), so a
 * port we picked is much less likely to be taken before we bind it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export interface TestStack extends LocalStack {
  stateDir: string;
}

/** The real local stack (workerd + local R2 + Durable Objects + ingest node) on fresh ports and state. */
export async function startTestStack(ingestEnv: Record<string, string> = {}): Promise<TestStack> {
  // Another process can still take a port between our check and the bind: try fresh ports once more.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestStackOnce(ingestEnv);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error;
    }
  }
}

async function startTestStackOnce(ingestEnv: Record<string, string>): Promise<TestStack> {
  const root = await mkdtemp(join(tmpdir(), "onair-test-"));
  const stateDir = join(root, "state");
  const stack = await startLocalStack({
    httpPort: await freePort(),
    rtmpPort: await freePort(),
    adminToken: randomToken(),
    stateDir,
    workDir: join(root, "ingest"),
    echoIngestLog: process.env.ONAIR_VERBOSE === "1",
    ingestEnv,
  });
  const stopStack = stack.stop.bind(stack);
  // Extended in place, not spread: `ingest` is a getter that follows restartIngest().
  return Object.assign(stack, {
    stateDir,
    async stop() {
      await stopStack();
      await rm(root, { recursive: true, force: true });
    },
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

/** A suite's test-pattern publishers on one stream: each publish() starts one, killAll() (in afterAll) ends them. */
export class TestPublishers {
  readonly started: ChildProcess[] = [];

  /** `target` is read at each publish: the stream is usually created in beforeAll. */
  constructor(private readonly target: () => string) {}

  publish(durationSeconds: number): ChildProcess {
    const publisher = startTestPattern({ url: this.target(), durationSeconds });
    this.started.push(publisher);
    return publisher;
  }

  killAll(): void {
    for (const p of this.started) p.kill("SIGKILL");
  }
}
