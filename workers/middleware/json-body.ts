import type { z } from "zod";
import { validator } from "hono/validator";
import { jsonError } from "./errors";

/**
 * Validates a JSON request body against a zod schema; handlers read it with `c.req.valid("json")`.
 * Malformed JSON is rejected by Hono itself (HTTPException 400, turned into JSON by the error handler).
 */
export function jsonBody<Schema extends z.ZodType>(schema: Schema) {
  return validator("json", (value, c): z.output<Schema> | Response => {
    if (!/^application\/json\b/i.test(c.req.header("Content-Type") ?? "")) {
      return jsonError(c, 400, "send the body as JSON with Content-Type: application/json");
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      return jsonError(c, 400, `invalid body: ${where}${issue?.message ?? "does not match the schema"}`);
    }
    return parsed.data;
  });
}
