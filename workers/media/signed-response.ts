import type { MediaKind } from "../shared/layout";
import { TOKEN_PARAM } from "./playback-token";

/**
 * What a token holder gets for a stream with signed playback, made from the same full response every
 * viewer shares (caches.default holds it under the token-stripped key, so all viewers of a segment still
 * cost one R2 read).
 *
 * Why `private`: Workers Cache sits in front of this Worker in production, keys on path + query, and
 * answers a hit without running the Worker. A signed answer it stored would be served again without the
 * token check, even after the token expired, and one entry per token would be kept. `private` keeps it out
 * of every shared cache while the viewer's own browser may still keep it; s-maxage and stale-if-error only
 * speak to shared caches, so they go. The price: signed streams get no help from Workers Cache, and every
 * request runs the Worker (which still answers from caches.default).
 */
export async function signedMediaResponse(full: Response, kind: MediaKind, token: string): Promise<Response> {
  const headers = new Headers(full.headers);
  headers.set("Cache-Control", privateCacheControl(full.headers.get("Cache-Control") ?? ""));
  if (kind !== "master-playlist" && kind !== "media-playlist") return new Response(full.body, { status: full.status, headers });

  // Decoded by hand: workerd warns about .text() on a body typed application/vnd.apple.mpegurl.
  const body = new TextEncoder().encode(withTokenOnUris(new TextDecoder().decode(await full.arrayBuffer()), token));
  headers.set("Content-Length", String(body.byteLength));
  // The body now depends on the token: a viewer revalidating with a new token must not be told its copy
  // (whose URIs carry the old, maybe expired, token) is current.
  const etag = headers.get("ETag");
  if (etag) headers.set("ETag", `${etag.replace(/"$/, "")}-${token.slice(-10)}"`);
  return new Response(body, { status: full.status, headers });
}

/** "public, max-age=1, s-maxage=1, stale-if-error=0" -> "private, max-age=1". */
export function privateCacheControl(publicValue: string): string {
  const kept = publicValue
    .split(",")
    .map((directive) => directive.trim())
    .filter((directive) => directive !== "" && !/^(?:public|private|s-maxage=.*|stale-if-error=.*)$/i.test(directive));
  return ["private", ...kept].join(", ");
}

/**
 * Appends the token to every URI in a playlist: URI lines (variants, segments) and URI="..." attributes
 * (EXT-X-MAP, EXT-X-MEDIA, and any other tag that has one), so a player that only knows the playlist's
 * URL carries the token to everything it fetches next. Tokens need no escaping (see playback-token.ts).
 */
export function withTokenOnUris(playlist: string, token: string): string {
  const withToken = (uri: string) => `${uri}${uri.includes("?") ? "&" : "?"}${TOKEN_PARAM}=${token}`;
  return playlist
    .split("\n")
    .map((line) => {
      const content = line.trimEnd();
      if (content === "") return line;
      if (content.startsWith("#")) return line.replace(/URI="([^"]*)"/g, (_, uri: string) => `URI="${withToken(uri)}"`);
      return withToken(content.trim()) + line.slice(content.length);
    })
    .join("\n");
}
