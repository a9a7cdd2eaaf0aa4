const ID_LENGTH = 12;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
// Largest multiple of 36 below 256: bytes at or above it are discarded so every character is equally likely.
const UNBIASED_BYTE_LIMIT = 252;
const KEY_BYTES = 20;
const WEBHOOK_SECRET_BYTES = 32;

export function randomStreamId(): string {
  let id = "";
  while (id.length < ID_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(ID_LENGTH * 2))) {
      if (byte < UNBIASED_BYTE_LIMIT && id.length < ID_LENGTH) id += ID_ALPHABET[byte % ID_ALPHABET.length];
    }
  }
  return id;
}

/** Matches STREAM_KEY_PATTERN. */
export function randomStreamKey(): string {
  return `sk_${randomHex(KEY_BYTES)}`;
}

export function randomWebhookSecret(): string {
  return `whsec_${randomHex(WEBHOOK_SECRET_BYTES)}`;
}

export function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

export async function hmacSha256Hex(key: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message))));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
