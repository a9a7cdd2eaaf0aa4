import { randomBytes } from "node:crypto";
import { z } from "zod";

/**
 * Configuration of the local stack (`npm start` and the end-to-end tests), read from the environment once
 * and validated, so a typo fails at start-up with the variable's name instead of somewhere downstream.
 */
const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

const schema = z.object({
  ONAIR_HTTP_PORT: port(8787),
  ONAIR_RTMP_PORT: port(1935),
  ONAIR_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  ONAIR_STATE_DIR: z.string().default(".onair/state"),
  ONAIR_WORK_DIR: z.string().default(".onair/ingest"),
});

export interface LocalConfig {
  httpPort: number;
  rtmpPort: number;
  adminToken: string;
  adminTokenGenerated: boolean;
  stateDir: string;
  workDir: string;
}

export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid onair configuration:\n${problems}\nFix these environment variables (see README, "Configuration").`);
  }
  const c = parsed.data;
  return {
    httpPort: c.ONAIR_HTTP_PORT,
    rtmpPort: c.ONAIR_RTMP_PORT,
    adminToken: c.ONAIR_ADMIN_TOKEN ?? randomToken(),
    adminTokenGenerated: c.ONAIR_ADMIN_TOKEN === undefined,
    stateDir: c.ONAIR_STATE_DIR,
    workDir: c.ONAIR_WORK_DIR,
  };
}

export function randomToken(): string {
  return randomBytes(24).toString("hex");
}
