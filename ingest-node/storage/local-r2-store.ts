import type { ObjectStore, PutOptions } from "./object-store";

/** The part of the R2 binding we use; workers-types is not part of the Node build. */
interface R2BucketLike {
  put(key: string, value: Uint8Array, options: { httpMetadata: { contentType: string; cacheControl: string } }): Promise<unknown>;
  delete(keys: string[]): Promise<void>;
}

const SHUTDOWN_SIGNALS = ["SIGINT", "SIGTERM"] as const;
/** the Worker's own configuration, for the same MEDIA binding (relative to the repository root) */
const WRANGLER_CONFIG = "wrangler.toml";

/**
 * The local R2 bucket that `wrangler dev` / the local stack serves, written through wrangler's platform
 * proxy: what the Worker reads sees each put at once. Keep one writer per persisted store (two workerd
 * processes writing the same store hit SQLITE_BUSY): the ingest node writes, the Worker only reads.
 */
export class LocalR2Store implements ObjectStore {
  private constructor(
    private readonly bucket: R2BucketLike,
    private readonly dispose: () => Promise<void>,
  ) {}

  static async open(persistDir: string): Promise<LocalR2Store> {
    const earlierListeners = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
    // Loaded only in local mode: a production ingest node never starts workerd.
    const { getPlatformProxy } = await import("wrangler");
    // wrangler keeps its state under <persist>/v3; without the suffix this would be a separate, empty store.
    const proxy = await getPlatformProxy<{ MEDIA?: R2BucketLike }>({ configPath: WRANGLER_CONFIG, persist: { path: `${persistDir}/v3` } });
    // wrangler and its proxy exit the process on SIGINT/SIGTERM (hooks added on import and on start). The
    // ingest node needs those signals for its own graceful shutdown (ffmpeg finishes, final playlists go
    // through this very proxy), and then calls close().
    for (const signal of SHUTDOWN_SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!earlierListeners.get(signal)!.has(listener)) process.off(signal, listener);
      }
    }
    if (!proxy.env.MEDIA) {
      await proxy.dispose();
      throw new Error(`${WRANGLER_CONFIG} has no R2 binding named MEDIA; the local store needs the same binding the Worker reads`);
    }
    return new LocalR2Store(proxy.env.MEDIA, () => proxy.dispose());
  }

  async put(key: string, body: Uint8Array, { contentType, cacheControl }: PutOptions): Promise<void> {
    // The proxy rejects Node Buffers (a Uint8Array subclass): hand it a plain view of the same bytes.
    const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    await this.bucket.put(key, bytes, { httpMetadata: { contentType, cacheControl } });
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.bucket.delete([...keys]);
  }

  async close(): Promise<void> {
    await this.dispose();
  }
}
