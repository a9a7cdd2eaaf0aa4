import { z } from "zod";
import { MUXER_RETAINED_SEGMENTS } from "./transcoder/ffmpeg-args";
import { ladderOverridesSchema, type BitrateOverrides } from "./ladder/ladder";

/**
 * The ingest node's configuration, read from the environment once at start-up and validated, so a typo
 * fails immediately with the variable's name instead of as a refused publish an hour later.
 */
export type StorageConfig =
  | { kind: "local-r2"; persistDir: string }
  | { kind: "s3"; endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; region: string };

export interface IngestConfig {
  rtmp: { host: string; port: number; maxConnectionsPerAddress: number };
  edge: { url: string; secret: string };
  workDir: string;
  storage: StorageConfig;
  ladderOverrides: BitrateOverrides;
  logLevel: string;
  /** how long a stream waits for its publisher to reconnect before it ends */
  reconnectWindowSeconds: number;
  /** unstored segments per rendition the spool holds through a store outage */
  spoolMaxSegments: number;
}

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const required = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `is required: ${what}` : "must be a string") }).min(1, `must not be empty: ${what}`);

const ladderJson = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: 'must be JSON, e.g. {"720p":2500,"audio":96} (kbps per rung)' });
      return z.NEVER;
    }
  })
  .pipe(ladderOverridesSchema);

const schema = z.object({
  ONAIR_RTMP_PORT: port(1935),
  // Loopback by default: facing the internet is a deliberate choice (guard/rtmp-guard.ts bounds hostile clients).
  ONAIR_RTMP_HOST: z.string().min(1).default("127.0.0.1"),
  // Open RTMP connections from one address; more are closed at once (guard/rtmp-guard.ts).
  ONAIR_RTMP_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(20),
  ONAIR_EDGE_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL like http://127.0.0.1:8787" }).default("http://127.0.0.1:8787"),
  ONAIR_INGEST_SECRET: required("the same value as the Worker's INGEST_SECRET"),
  ONAIR_WORK_DIR: z.string().min(1).default(".onair/ingest"),
  ONAIR_STORAGE: z.enum(["local-r2", "s3"], { error: 'must be "local-r2" or "s3"' }).default("local-r2"),
  ONAIR_LOCAL_R2_PERSIST: z.string().min(1).default(".onair/state"),
  ONAIR_S3_ENDPOINT: z.url({ error: "must be a URL like https://<ACCOUNT_ID>.r2.cloudflarestorage.com" }).optional(),
  ONAIR_S3_BUCKET: z.string().min(1).optional(),
  ONAIR_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  ONAIR_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  ONAIR_S3_REGION: z.string().min(1).default("auto"),
  ONAIR_LADDER: ladderJson.optional(),
  // An encoder that drops and reconnects within this continues the same stream (same URLs).
  ONAIR_RECONNECT_WINDOW_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  // 150 two-second segments: five minutes of store outage before the oldest unstored segments are dropped.
  // At most what ffmpeg itself keeps behind its window (MUXER_RETAINED_SEGMENTS), less the window.
  ONAIR_SPOOL_MAX_SEGMENTS: z.coerce.number().int().min(1).max(MUXER_RETAINED_SEGMENTS - 100).default(150),
  ONAIR_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

const S3_VARIABLES = ["ONAIR_S3_ENDPOINT", "ONAIR_S3_BUCKET", "ONAIR_S3_ACCESS_KEY_ID", "ONAIR_S3_SECRET_ACCESS_KEY"] as const;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw configError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const c = parsed.data;
  return {
    rtmp: { host: c.ONAIR_RTMP_HOST, port: c.ONAIR_RTMP_PORT, maxConnectionsPerAddress: c.ONAIR_RTMP_MAX_CONNECTIONS_PER_ADDRESS },
    edge: { url: c.ONAIR_EDGE_URL.replace(/\/+$/, ""), secret: c.ONAIR_INGEST_SECRET },
    workDir: c.ONAIR_WORK_DIR,
    storage: c.ONAIR_STORAGE === "s3" ? s3Storage(c) : { kind: "local-r2", persistDir: c.ONAIR_LOCAL_R2_PERSIST },
    ladderOverrides: c.ONAIR_LADDER ?? {},
    logLevel: c.ONAIR_LOG_LEVEL,
    reconnectWindowSeconds: c.ONAIR_RECONNECT_WINDOW_SECONDS,
    spoolMaxSegments: c.ONAIR_SPOOL_MAX_SEGMENTS,
  };
}

function s3Storage(c: z.infer<typeof schema>): StorageConfig {
  const missing = S3_VARIABLES.filter((name) => c[name] === undefined);
  if (missing.length > 0) throw configError(missing.map((name) => `${name}: is required when ONAIR_STORAGE=s3`));
  return {
    kind: "s3",
    endpoint: c.ONAIR_S3_ENDPOINT!,
    bucket: c.ONAIR_S3_BUCKET!,
    accessKeyId: c.ONAIR_S3_ACCESS_KEY_ID!,
    secretAccessKey: c.ONAIR_S3_SECRET_ACCESS_KEY!,
    region: c.ONAIR_S3_REGION,
  };
}

function configError(problems: string[]): ConfigError {
  return new ConfigError(`Invalid ingest node configuration:\n${problems.map((p) => `  ${p}`).join("\n")}\nFix these environment variables and start again.`);
}
