import { parseIpAddress, parseIpPrefix, prefixContains } from "./ip-prefix";

/**
 * Signed playback tokens: what lets a viewer play a stream that requires signed URLs.
 *
 *   token = <expiresAt>.<prefix>.<mac>
 *     expiresAt  Unix seconds, decimal
 *     prefix     the viewer address prefix it is bound to ("203.0.113.0/24"), base64url; empty if unbound
 *     mac        HMAC-SHA256(PLAYBACK_SIGNING_KEY, "onair-playback-v1|<streamId>|<expiresAt>|<prefix>"), base64url
 *
 * Only characters that are safe unescaped in a query string and a cookie value (A-Z a-z 0-9 - _ .). The
 * stream id is not in the token but under the MAC, so a token for one stream is worthless on another;
 * the "onair-playback-v1" label keeps these MACs distinct from anything else the key might ever sign.
 * The key is its own secret (not derived from ADMIN_TOKEN) so either can be rotated alone.
 */
export interface PlaybackClaims {
  streamId: string;
  /** Unix seconds */
  expiresAt: number;
  /** CIDR the viewer's address must be in; validated with parseIpPrefix before signing */
  viewerPrefix?: string;
}

export type TokenRefusal =
  | { ok: false; reason: "malformed" | "forged" }
  | { ok: false; reason: "expired" | "wrong-network"; expiresAt: number };

export type TokenCheck = { ok: true; expiresAt: number } | TokenRefusal;

/** Query parameter and cookie a token may arrive in. */
export const TOKEN_PARAM = "token";
export const TOKEN_COOKIE = "onair_playback";

// Generous for a 64-character prefix; bounds the work a hostile request can cause.
const MAX_TOKEN_LENGTH = 256;
const MAX_COOKIE_CANDIDATES = 4;
const TOKEN_SHAPE = /^(\d{1,12})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{43})$/;

export async function signPlaybackToken(secret: string, claims: PlaybackClaims): Promise<string> {
  const prefix = claims.viewerPrefix ?? "";
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), macInput(claims.streamId, claims.expiresAt, prefix));
  return `${claims.expiresAt}.${base64url(new TextEncoder().encode(prefix))}.${base64url(new Uint8Array(mac))}`;
}

/**
 * Checks a token for `streamId` at `nowSeconds`, presented from `viewerAddress` (CF-Connecting-IP; null
 * when unknown, which fails a bound token). The MAC is checked first, so "expired" and "wrong network"
 * are only ever said about genuine tokens.
 */
export async function verifyPlaybackToken(
  secret: string,
  token: string,
  streamId: string,
  nowSeconds: number,
  viewerAddress: string | null,
): Promise<TokenCheck> {
  const match = token.length <= MAX_TOKEN_LENGTH ? TOKEN_SHAPE.exec(token) : null;
  const prefix = match ? decodeBase64url(match[2]!) : null;
  const mac = match ? decodeBase64url(match[3]!) : null;
  if (!match || prefix === null || mac === null) return { ok: false, reason: "malformed" };
  const expiresAt = Number(match[1]);
  const macBytes = Uint8Array.from(mac, (char) => char.charCodeAt(0));
  const genuine = await crypto.subtle.verify("HMAC", await hmacKey(secret), macBytes, macInput(streamId, expiresAt, prefix));
  if (!genuine) return { ok: false, reason: "forged" };
  if (nowSeconds >= expiresAt) return { ok: false, reason: "expired", expiresAt };
  if (prefix !== "") {
    const bound = parseIpPrefix(prefix);
    const address = viewerAddress === null ? null : parseIpAddress(viewerAddress);
    if (!bound || !address || !prefixContains(bound, address)) return { ok: false, reason: "wrong-network", expiresAt };
  }
  return { ok: true, expiresAt };
}

/**
 * Every token a request presents, in the order to try them: the query parameter (what rewritten playlist
 * URIs carry), then the cookie. Several cookies of that name can arrive (one per Path); a few are tried.
 */
export function presentedTokens(url: URL, cookieHeader: string | null): string[] {
  const fromQuery = url.searchParams.get(TOKEN_PARAM);
  const fromCookies = (cookieHeader ?? "")
    .split(";")
    .map((pair) => pair.split("="))
    .filter(([name]) => name?.trim() === TOKEN_COOKIE)
    .slice(0, MAX_COOKIE_CANDIDATES)
    .map(([, ...value]) => value.join("=").trim());
  return fromQuery === null ? fromCookies : [fromQuery, ...fromCookies];
}

function macInput(streamId: string, expiresAt: number, prefix: string): Uint8Array {
  return new TextEncoder().encode(`onair-playback-v1|${streamId}|${expiresAt}|${prefix}`);
}

const importHmacKey = (secret: string) =>
  crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

// Importing a key costs more than the HMAC itself: keep the one for the current secret.
let cachedKey: { secret: string; key: ReturnType<typeof importHmacKey> } | undefined;

function hmacKey(secret: string): ReturnType<typeof importHmacKey> {
  if (cachedKey?.secret !== secret) cachedKey = { secret, key: importHmacKey(secret) };
  return cachedKey.key;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The decoded bytes as a binary string (prefixes are ASCII); null when it is not valid base64url. */
function decodeBase64url(text: string): string | null {
  try {
    return atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
}
