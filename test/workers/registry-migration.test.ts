import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { registryStub } from "../../workers/env";
import { env } from "./helpers";
import { recordingOf } from "./ingest-fixtures";

const NEW_COLUMNS = ["record", "webhook_url", "webhook_secret", "health"];

describe("StreamRegistry: a registry persisted by an older version", () => {
  it("gains the record, webhook and health columns and the recordings and outbox tables, keeping its streams", async () => {
    const { record, streamKey } = await registryStub(env).createStream("From before recordings");
    await runInDurableObject(registryStub(env), (_, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE recordings");
      sql.exec("DROP TABLE webhook_outbox");
      for (const column of NEW_COLUMNS) sql.exec(`ALTER TABLE streams DROP COLUMN ${column}`);
    });

    // The next start of the object runs the migration; a second start must find nothing left to do.
    await abortAllDurableObjects();
    await registryStub(env).getStream(record.id);
    await abortAllDurableObjects();
    const registry = registryStub(env);
    const columns = await runInDurableObject(registry, (_, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('streams')").toArray().map((c) => c.name),
    );
    for (const column of NEW_COLUMNS) expect(columns.filter((name) => name === column)).toHaveLength(1);

    expect(await registry.getStream(record.id)).toMatchObject({ id: record.id, record: false, webhookUrl: null });
    expect(await registry.authorizeKey(streamKey)).toEqual({ streamId: record.id, record: false });
    expect(await registry.getHealth(record.id)).toEqual({ status: "idle", sessionId: null, health: null });
    await registry.recordEvent({ streamId: record.id, sessionId: "sess000001", type: "recording-ready", recording: recordingOf(record.id, "sess000001") });
    expect((await registry.listRecordings(record.id))?.map((r) => r.sessionId)).toEqual(["sess000001"]);
  });
});
