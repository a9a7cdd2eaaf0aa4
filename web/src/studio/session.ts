/**
 * What the studio keeps in this tab only (sessionStorage: gone when the tab closes, never sent anywhere
 * but this site's API): the admin token, and the stream keys of streams created in this tab (the API
 * shows a key once, when the stream is created).
 */
const TOKEN_KEY = "onair.adminToken";
const KEYS_KEY = "onair.streamKeys";
const RTMP_KEY = "onair.rtmpUrl";

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: the studio still works until the tab is reloaded
  }
}

let memoryToken: string | null = null;

export function getToken(): string | null {
  return storage()?.getItem(TOKEN_KEY) ?? memoryToken;
}

export function setToken(token: string): void {
  memoryToken = token;
  storage()?.setItem(TOKEN_KEY, token);
}

export function clearSession(): void {
  memoryToken = null;
  const s = storage();
  s?.removeItem(TOKEN_KEY);
  s?.removeItem(KEYS_KEY);
  s?.removeItem(RTMP_KEY);
}

export interface Credentials {
  streamKey?: string;
  rtmpUrl?: string;
}

function readKeys(): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(storage()?.getItem(KEYS_KEY) ?? "{}");
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function rememberCredentials(streamId: string, streamKey: string, rtmpUrl: string): void {
  const keys = readKeys();
  keys[streamId] = streamKey;
  storage()?.setItem(KEYS_KEY, JSON.stringify(keys));
  storage()?.setItem(RTMP_KEY, rtmpUrl);
}

export function credentials(streamId: string): Credentials {
  const streamKey = readKeys()[streamId];
  return { streamKey: typeof streamKey === "string" ? streamKey : undefined, rtmpUrl: storage()?.getItem(RTMP_KEY) ?? undefined };
}

export function forgetCredentials(streamId: string): void {
  const keys = readKeys();
  delete keys[streamId];
  storage()?.setItem(KEYS_KEY, JSON.stringify(keys));
}
