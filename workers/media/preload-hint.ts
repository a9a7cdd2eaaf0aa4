import type { PlaylistGate } from "../../durable-objects/playlist-gate";
import { TARGET_DURATION_SECONDS } from "../shared/cache-policy";
import { MEDIA_PLAYLIST_FILE, PART_FILE_PATTERN, renditionKey, type MediaObject } from "../shared/layout";
import { askGate } from "./partial-playlist";
import type { MediaSnapshot } from "./snapshot";

/**
 * A part asked for before it is stored: the one a partial playlist names in EXT-X-PRELOAD-HINT. Players
 * that use the hint (Safari; hls.js does not) ask for the next part as soon as they have the playlist,
 * and RFC 8216bis 6.2.6 has the server hold such a request until the part is there. So a part the store
 * does not have yet waits, in the stream's PlaylistGate, for the partial playlist that lists it, and is
 * then read again. A part from long ago (deleted) or far ahead is not waited for: the gate answers those
 * at once (listed already, or too far), and the 404 stands.
 */
export interface HintedPart {
  object: MediaObject;
  read: () => Promise<MediaSnapshot>;
  gate: Pick<DurableObjectStub<PlaylistGate>, "partialPlaylist">;
}

/** RFC 8216bis: a blocking request is answered within three target durations. */
const MAX_WAIT_MS = TARGET_DURATION_SECONDS * 3000;

export async function hintedPart({ object, read, gate }: HintedPart): Promise<MediaSnapshot> {
  const first = await read();
  const name = PART_FILE_PATTERN.exec(object.key.slice(object.key.lastIndexOf("/") + 1));
  if (first.status !== 404 || !name || !object.sessionId || !object.rendition) return first;
  const playlist = renditionKey(object.streamId, object.sessionId, object.rendition, MEDIA_PLAYLIST_FILE);
  const answer = await askGate(gate, playlist, Number(name[1]), Number(name[2]), MAX_WAIT_MS);
  if (!answer || "tooFar" in answer || !answer.reached) return first;
  return read();
}
