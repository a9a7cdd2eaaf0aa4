import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { ObjectStore, PutOptions } from "./object-store";

export interface S3StoreOptions {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** R2 (or any S3-compatible store) through the S3 API: what a production ingest node writes to. */
export class S3Store implements ObjectStore {
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // R2 and local S3 servers address buckets by path, not by subdomain.
      forcePathStyle: true,
      // Since SDK 3.729 CRC32 checksums are sent by default, and R2 refused them (501).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  async put(key: string, body: Uint8Array, { contentType, cacheControl }: PutOptions): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType, CacheControl: cacheControl }),
      );
    } catch (error) {
      throw new Error(`S3 put of ${key} to bucket ${this.options.bucket} at ${this.options.endpoint} failed: ${describe(error)}`, { cause: error });
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One DeleteObject per key: the batch call requires a checksum header that R2 has refused before.
    await Promise.all(keys.map((key) => this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }))));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return `${error.name}${status ? ` (HTTP ${status})` : ""}: ${error.message}; check ONAIR_S3_* and the bucket's API token`;
  }
  return String(error);
}
