/**
 * Where finished media goes: R2 in production (through its S3 API), the local R2 that `wrangler dev`
 * serves in development, or a test double. Keys follow workers/shared/layout.ts.
 */
export interface PutOptions {
  contentType: string;
  cacheControl: string;
}

export interface ObjectStore {
  /** Stores the whole object at once; R2 needs a known length, so bodies are never streams. */
  put(key: string, body: Uint8Array, options: PutOptions): Promise<void>;
  /** Deletes what exists of these keys; missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Releases connections or the local platform proxy. */
  close(): Promise<void>;
}
