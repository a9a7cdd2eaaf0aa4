import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomToken } from "../../scripts/local-config";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";

/** A port nobody is listening on right now, so parallel runs and a developer's own stack never collide. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface TestStack extends LocalStack {
  stateDir: string;
}

/** The real local stack (workerd + local R2 + Durable Objects + ingest node) on fresh ports and state. */
export async function startTestStack(ingestEnv: Record<string, string> = {}): Promise<TestStack> {
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
  return {
    ...stack,
    stateDir,
    async stop() {
      await stack.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
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
