import {
  CLIENT_MESSAGE_TYPES,
  clientMessageSchema,
  MAX_FRAME_LENGTH,
  type ErrorCode,
  type ParsedClientMessage,
} from "../protocol";

export type ParseOutcome = { ok: true; message: ParsedClientMessage } | { ok: false; code: ErrorCode; message: string };

/** Turns one incoming frame into a validated client message, or says what is wrong with it. */
export function parseClientFrame(frame: string | ArrayBuffer | ArrayBufferView): ParseOutcome {
  if (typeof frame !== "string") return { ok: false, code: "binary_frame", message: "send JSON text frames" };
  // Checked before parsing so an oversized frame costs nothing more than its length.
  if (frame.length > MAX_FRAME_LENGTH) return { ok: false, code: "too_large", message: `frames are limited to ${MAX_FRAME_LENGTH} characters` };
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    return { ok: false, code: "invalid_json", message: "the frame is not valid JSON" };
  }
  const type = typeof data === "object" && data !== null ? (data as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !CLIENT_MESSAGE_TYPES.includes(type)) {
    return { ok: false, code: "unknown_type", message: `type must be one of ${CLIENT_MESSAGE_TYPES.join(", ")}` };
  }
  const parsed = clientMessageSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    return { ok: false, code: "invalid_message", message: `${type}: ${where}${issue?.message ?? "does not match the protocol"}` };
  }
  return { ok: true, message: parsed.data };
}
