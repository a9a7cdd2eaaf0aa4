import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Store } from "../../ingest-node/storage/s3-store";
import { freePort } from "./ingest-fixtures";

/** The production adapter against a real S3 server on this machine (s3rver). */
describe("S3 object store", () => {
  let server: S3rver;
  let dir: string;
  let endpoint: string;
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  const bucket = "onair-media";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "onair-s3rver-"));
    const port = await freePort();
    server = new S3rver({ address: "127.0.0.1", port, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
    await server.run();
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const reader = () => new S3Client({ endpoint, region: "auto", forcePathStyle: true, credentials });

  it("stores the exact bytes with their content type and cache policy, and deletes them", async () => {
    const store = new S3Store({ endpoint, bucket, region: "auto", ...credentials });
    const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 31) % 256);
    const key = "live/abcdefghijkl/s1s1s1/720p/seg-00001.m4s";
    // A Buffer view into a larger pool, as readFile returns: only its own bytes may be sent.
    const pooled = Buffer.concat([Buffer.from("junk"), Buffer.from(bytes)]).subarray(4);
    await store.put(key, pooled, { contentType: "video/mp4", cacheControl: "public, max-age=31536000, immutable" });

    const client = reader();
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(object.ContentType).toBe("video/mp4");
    expect(object.CacheControl).toBe("public, max-age=31536000, immutable");
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(Buffer.from(bytes))).toBe(true);

    await store.delete([key, "live/abcdefghijkl/s1s1s1/720p/seg-99999.m4s"]);
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ name: "NotFound" });
    client.destroy();
    await store.close();
  });

  it("fails with the key, the bucket and what to check", async () => {
    const store = new S3Store({ endpoint, bucket: "no-such-bucket", region: "auto", ...credentials });
    await expect(store.put("live/x/master.m3u8", new Uint8Array([1]), { contentType: "a", cacheControl: "b" })).rejects.toThrow(
      /S3 put of live\/x\/master.m3u8 to bucket no-such-bucket .*NoSuchBucket.*check ONAIR_S3_\*/,
    );
    await store.close();
  });
});
