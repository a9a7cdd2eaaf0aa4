import { ConfigError, loadConfig, type IngestConfig } from "./config";
import { startIngestNode, type IngestNode } from "./ingest-node";
import { createLogger } from "./logger";
import { openObjectStore } from "./storage/store-from-config";

/**
 * `npm run ingest`: the ingest node as a process. Ready when it logs msg "ingest ready" (with rtmpUrl);
 * SIGINT/SIGTERM stop it cleanly: ffmpegs finish, final playlists are stored, the edge hears "idle".
 */
async function main(): Promise<void> {
  let config: IngestConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger(config.logLevel);
  const store = await openObjectStore(config.storage);
  let node: IngestNode;
  try {
    node = await startIngestNode(config, { store, logger });
  } catch (error) {
    logger.fatal({ err: error }, `ingest node failed to start: ${error instanceof Error ? error.message : String(error)}`);
    await store.close();
    process.exitCode = 1;
    return;
  }
  logger.info({ rtmpUrl: node.rtmpUrl, edgeUrl: config.edge.url, storage: config.storage.kind }, "ingest ready");

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without finishing uploads");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    await node.stop();
    await store.close();
    logger.info("ingest stopped");
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      shutdown(signal).catch((error: unknown) => {
        logger.fatal({ err: error }, "shutdown failed");
        process.exit(1);
      });
    });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
