/**
 * What the player shows, and says to screen readers, in each state of a stream's life:
 *
 *   loading      -> offline | starting | restricted | not-found          (first status answer)
 *   offline      -> starting                                              (status turns live)
 *   starting     -> playing | reconnecting | unsupported                  (first frame / fatal error)
 *   playing      -> reconnecting                                          (fatal error, or no progress for 6 s)
 *   playing      -> ended                                                 (ENDLIST played out, or status idle
 *                                                                          once the buffer has played)
 *   reconnecting -> starting | playing | ended
 *   ended        -> starting                                              (live again with a new session)
 *   any          -> restricted                                            (signed playback without a valid token)
 */
export type ViewState =
  | "loading"
  | "offline"
  | "starting"
  | "playing"
  | "reconnecting"
  | "ended"
  | "restricted"
  | "not-found"
  | "unsupported";

export const MESSAGES: Record<ViewState, { title: string; detail: string; announce: string }> = {
  loading: { title: "Loading…", detail: "", announce: "" },
  offline: {
    title: "Offline",
    detail: "Starting soon? This player starts by itself when the stream goes live.",
    announce: "The stream is offline.",
  },
  starting: { title: "Starting…", detail: "", announce: "The stream is live. Starting playback." },
  playing: { title: "", detail: "", announce: "Playing live." },
  reconnecting: { title: "Reconnecting…", detail: "", announce: "Lost the stream. Reconnecting." },
  ended: {
    title: "Stream ended",
    detail: "Thanks for watching. If the stream comes back, it plays here by itself.",
    announce: "The stream has ended.",
  },
  restricted: {
    title: "Private stream",
    detail: "This stream plays only where its owner shares it, with a playback link.",
    announce: "This stream is private.",
  },
  "not-found": { title: "Stream not found", detail: "Check the link: this stream does not exist or was removed.", announce: "Stream not found." },
  unsupported: { title: "Can't play here", detail: "This browser can't play live HLS video. Try the HLS link in VLC.", announce: "This browser can't play the stream." },
};
