import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** JSON lines on stdout: what log shippers read, and what the start script scans for "ingest ready". */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: "onair-ingest" } }, destination);
}

/**
 * A stream key is a publish credential: logs show only enough of it to tell keys apart.
 * `sk_3f2a…` keeps 16 of its 160 bits.
 */
export function redactStreamKey(key: string): string {
  return key.startsWith("sk_") ? `${key.slice(0, 7)}…` : "…";
}

/**
 * Redacts stream keys from text we do not write ourselves (node-media-server's messages, ffmpeg's stderr,
 * child-process errors), where they appear in stream paths and RTMP URLs.
 */
export function redactStreamKeys(text: string): string {
  return text
    .replace(/sk_[A-Za-z0-9_-]+/g, (key) => redactStreamKey(key))
    .replace(/(\/live\/)(?!sk_)([A-Za-z0-9_-]+)/g, "$1…")
    .replace(/(\bname=)([^\s,]+)/g, "$1…");
}
