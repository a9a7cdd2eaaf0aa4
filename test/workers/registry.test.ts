import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { registryStub } from "../../workers/env";
import { env } from "./helpers";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("StreamRegistry", () => {
  it("keeps streams across a restart of the object", async () => {
    const { record, streamKey } = await registryStub(env).createStream("Survivor");
    await abortAllDurableObjects();
    const registry = registryStub(env);
    expect(await registry.getStream(record.id)).toEqual(record);
    expect(await registry.authorizeKey(streamKey)).toEqual({ streamId: record.id, record: false });
  });

  it("stores only the SHA-256 of a stream key, never the key", async () => {
    const registry = registryStub(env);
    const { record, streamKey } = await registry.createStream("Hashed");
    const rows = await runInDurableObject(registry, (_, state) =>
      state.storage.sql.exec("SELECT * FROM streams WHERE id = ?", record.id).toArray(),
    );
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(streamKey.slice(3));
    expect(stored).toContain(await sha256Hex(streamKey));
  });

  it("lists only streams that are on air and not revoked", async () => {
    const registry = registryStub(env);
    const [onAir, offAir, revoked] = await Promise.all([1, 2, 3].map((n) => registry.createStream(`s${n}`)));
    await registry.recordEvent({ streamId: onAir!.record.id, sessionId: "sessionaaa", type: "live", renditions: ["720p"] });
    await registry.recordEvent({ streamId: revoked!.record.id, sessionId: "sessionbbb", type: "live" });
    await registry.revokeStream(revoked!.record.id);
    const live = (await registry.listLive()).map((s) => s.id);
    expect(live).toContain(onAir!.record.id);
    expect(live).not.toContain(offAir!.record.id);
    expect(live).not.toContain(revoked!.record.id);
  });
});
