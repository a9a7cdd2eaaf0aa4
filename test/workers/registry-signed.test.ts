import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addMissingColumns } from "../../durable-objects/registry/schema";
import { registryStub } from "../../workers/env";
import { env } from "./helpers";

describe("StreamRegistry: signed playback", () => {
  it("stores the flag at creation and changes it", async () => {
    const registry = registryStub(env);
    const { record } = await registry.createStream("Signed", true);
    expect(record.signedPlayback).toBe(true);
    expect((await registry.updateStream(record.id, { signedPlayback: false }))?.record.signedPlayback).toBe(false);
    expect((await registry.getStream(record.id))?.signedPlayback).toBe(false);
    expect(await registry.updateStream("zzzzzzzzzzzz", { signedPlayback: true })).toBeNull();
  });

  it("adds the column to a registry persisted before it existed, keeping its streams public", async () => {
    const registry = registryStub(env);
    const { record } = await registry.createStream("Old", true);
    const columns = await runInDurableObject(registry, (_, state) => {
      state.storage.sql.exec("ALTER TABLE streams DROP COLUMN signed_playback");
      addMissingColumns(state.storage.sql);
      addMissingColumns(state.storage.sql);
      return state.storage.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('streams')").toArray().map((c) => c.name);
    });
    expect(columns.filter((name) => name === "signed_playback")).toHaveLength(1);
    expect((await registry.getStream(record.id))?.signedPlayback).toBe(false);
  });
});
