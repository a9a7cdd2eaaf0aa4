import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPlatformProxy } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalR2Store } from "../../ingest-node/storage/local-r2-store";

interface R2ObjectLike {
  httpMetadata?: { contentType?: string; cacheControl?: string };
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The development adapter: what it writes is what the Worker's MEDIA binding reads from the same state. */
describe("local R2 object store", () => {
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "onair-local-r2-"));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it("puts Buffers (which the platform proxy rejects as they are) and deletes, visible to another reader", async () => {
    const store = await LocalR2Store.open(stateDir);
    const key = "live/abcdefghijkl/s1s1s1/720p/init.mp4";
    const bytes = Buffer.concat([Buffer.from("junk"), Buffer.from("init segment bytes")]).subarray(4);
    await store.put(key, bytes, { contentType: "video/mp4", cacheControl: "public, max-age=31536000, immutable" });
    await store.put("live/abcdefghijkl/gone.m4s", new Uint8Array([1, 2, 3]), { contentType: "video/mp4", cacheControl: "x" });
    await store.delete(["live/abcdefghijkl/gone.m4s"]);
    await store.close();

    // A second, independent proxy on the same persisted state, as the Worker would see it.
    const proxy = await getPlatformProxy<{ MEDIA: { get(key: string): Promise<R2ObjectLike | null> } }>({
      configPath: "wrangler.toml",
      persist: { path: `${stateDir}/v3` },
    });
    try {
      const object = await proxy.env.MEDIA.get(key);
      expect(object?.httpMetadata).toEqual({ contentType: "video/mp4", cacheControl: "public, max-age=31536000, immutable" });
      expect(Buffer.from(await object!.arrayBuffer()).toString()).toBe("init segment bytes");
      expect(await proxy.env.MEDIA.get("live/abcdefghijkl/gone.m4s")).toBeNull();
    } finally {
      await proxy.dispose();
    }
  }, 30_000);
});
