import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStream } from "../../scripts/demo-stream";
import { testPatternArgs } from "../../scripts/test-pattern";
import { listLocalR2 } from "../helpers/r2";
import { startTestStack, type TestStack } from "../helpers/stack";

/** A publish with a key the registry does not accept is closed before any transcoding, and writes nothing. */
describe("refused publishes", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function publishFor(url: string): Promise<{ code: number | null }> {
    const ffmpeg = spawn("ffmpeg", testPatternArgs({ url, durationSeconds: 15 }), { stdio: "ignore" });
    const [code] = (await once(ffmpeg, "exit")) as [number | null];
    return { code };
  }

  it("closes a publisher with an unknown key and a revoked key, and stores nothing", async () => {
    const unknown = await publishFor(`${stack.rtmpServerUrl}/sk_${"0".repeat(40)}`);
    // An accepted publisher would run its 15 s and exit 0; a refused one is cut off with an error.
    expect(unknown.code).not.toBe(0);

    const revoked = await createStream(stack.edgeUrl, stack.adminToken, "to be revoked");
    const del = await fetch(`${stack.edgeUrl}/api/streams/${revoked.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(del.status).toBe(204);
    const refused = await publishFor(`${revoked.rtmpUrl}/${revoked.streamKey}`);
    expect(refused.code).not.toBe(0);

    expect(stack.ingestLog.join("\n")).toMatch(/refus|reject|unknown or revoked/i);
    expect(stack.ingestLog.join("\n")).not.toContain(revoked.streamKey);
    expect(await listLocalR2(stack.stateDir)).toEqual([]);
    expect((await fetch(revoked.hlsUrl)).status).toBe(404);
  });
});
