import { describe, expect, it } from "vitest";
import { loadConfig } from "../../ingest-node/config";

describe("ingest node configuration", () => {
  it("has working local defaults once the secret is given", () => {
    expect(loadConfig({ ONAIR_INGEST_SECRET: "s" })).toEqual({
      rtmp: { host: "127.0.0.1", port: 1935, maxConnectionsPerAddress: 20 },
      edge: { url: "http://127.0.0.1:8787", secret: "s" },
      workDir: ".onair/ingest",
      storage: { kind: "local-r2", persistDir: ".onair/state" },
      ladderOverrides: {},
      logLevel: "info",
      reconnectWindowSeconds: 30,
      spoolMaxSegments: 150,
    });
  });

  it("takes the reconnect window and spool bound, and refuses nonsense", () => {
    const config = loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_RECONNECT_WINDOW_SECONDS: "0", ONAIR_SPOOL_MAX_SEGMENTS: "20" });
    expect(config).toMatchObject({ reconnectWindowSeconds: 0, spoolMaxSegments: 20 });
    expect(() => loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_RECONNECT_WINDOW_SECONDS: "-1" })).toThrow(/ONAIR_RECONNECT_WINDOW_SECONDS/);
    expect(() => loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_SPOOL_MAX_SEGMENTS: "0" })).toThrow(/ONAIR_SPOOL_MAX_SEGMENTS/);
  });

  it("names the missing secret and what to set it to", () => {
    expect(() => loadConfig({})).toThrow(/ONAIR_INGEST_SECRET: is required: the same value as the Worker's INGEST_SECRET/);
  });

  it("names every bad variable at once", () => {
    const attempt = () => loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_RTMP_PORT: "99999", ONAIR_EDGE_URL: "ftp://x", ONAIR_STORAGE: "disk" });
    expect(attempt).toThrow(/ONAIR_RTMP_PORT/);
    expect(attempt).toThrow(/ONAIR_EDGE_URL: must be an http\(s\) URL/);
    expect(attempt).toThrow(/ONAIR_STORAGE: must be "local-r2" or "s3"/);
  });

  it("requires the S3 settings in s3 mode, and defaults the region to auto", () => {
    expect(() => loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_STORAGE: "s3", ONAIR_S3_ENDPOINT: "https://a.r2.cloudflarestorage.com" })).toThrow(
      /ONAIR_S3_BUCKET: is required when ONAIR_STORAGE=s3[\s\S]*ONAIR_S3_ACCESS_KEY_ID[\s\S]*ONAIR_S3_SECRET_ACCESS_KEY/,
    );
    const config = loadConfig({
      ONAIR_INGEST_SECRET: "s",
      ONAIR_STORAGE: "s3",
      ONAIR_S3_ENDPOINT: "https://a.r2.cloudflarestorage.com",
      ONAIR_S3_BUCKET: "media",
      ONAIR_S3_ACCESS_KEY_ID: "id",
      ONAIR_S3_SECRET_ACCESS_KEY: "secret",
    });
    expect(config.storage).toEqual({
      kind: "s3",
      endpoint: "https://a.r2.cloudflarestorage.com",
      bucket: "media",
      accessKeyId: "id",
      secretAccessKey: "secret",
      region: "auto",
    });
  });

  it("reads ladder overrides as JSON and says what it expects when they are wrong", () => {
    expect(loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_LADDER: '{"720p":2500,"audio":96}' }).ladderOverrides).toEqual({ "720p": 2500, audio: 96 });
    expect(() => loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_LADDER: "720p=2500" })).toThrow(/ONAIR_LADDER: must be JSON/);
    expect(() => loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_LADDER: '{"4k":9000}' })).toThrow(/ONAIR_LADDER/);
  });

  it("drops a trailing slash from the edge URL", () => {
    expect(loadConfig({ ONAIR_INGEST_SECRET: "s", ONAIR_EDGE_URL: "http://edge.example/" }).edge.url).toBe("http://edge.example");
  });
});
