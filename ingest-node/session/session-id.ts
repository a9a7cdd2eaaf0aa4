import { randomBytes } from "node:crypto";
import { SESSION_ID_PATTERN } from "../../workers/shared/layout";

/**
 * A new id per publish (layout.ts): base36 time first, so a stream's sessions sort by start, then 40
 * random bits, so two publishes in the same millisecond (two ingest nodes) still differ.
 */
export function newSessionId(now = Date.now()): string {
  const random = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, "0");
  const id = `${now.toString(36)}${random}`;
  if (!SESSION_ID_PATTERN.test(id)) throw new Error(`generated session id ${id} does not match the layout's pattern`);
  return id;
}
