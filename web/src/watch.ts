/**
 * /watch/:id — the viewer page: player, title, live badge, links for external players, and the chat panel.
 */
import { mountChat } from "./chat/index";
import { copyField } from "./lib/copy";
import { byId, replaceChildren } from "./lib/dom";
import { absoluteUrl, playbackTokenFromUrl, streamIdFromPath, withPlaybackToken } from "./lib/route";
import type { StreamInfo } from "./lib/api";
import { mountLiveView, type ViewState } from "./player/live-view";

const streamId = streamIdFromPath();
/** Streams with signed playback are shared as /watch/<id>?token=... */
const playbackToken = playbackTokenFromUrl();
const titleEl = byId("stream-title");
const badgeEl = byId("stream-badge");
const externalEl = byId("external-urls");
const externalSection = byId("external");

const BADGES: Partial<Record<ViewState, { text: string; live: boolean }>> = {
  offline: { text: "Offline", live: false },
  starting: { text: "Live", live: true },
  playing: { text: "Live", live: true },
  reconnecting: { text: "Live", live: true },
  ended: { text: "Ended", live: false },
  restricted: { text: "Private", live: false },
  "not-found": { text: "Not found", live: false },
};

let shownUrls = "";

function renderInfo(info: StreamInfo | null): void {
  if (!info) {
    titleEl.textContent = "Stream not found";
    document.title = "Stream not found · onair";
    externalSection.hidden = true;
    return;
  }
  const title = info.title || "Untitled stream";
  if (titleEl.textContent !== title) titleEl.textContent = title;
  document.title = `${title} · onair`;
  const urls = `${info.hlsUrl} ${info.dashUrl ?? ""}`;
  if (urls !== shownUrls) {
    shownUrls = urls;
    replaceChildren(
      externalEl,
      copyField({
        label: "HLS",
        value: withPlaybackToken(absoluteUrl(info.hlsUrl), playbackToken),
        hint: "VLC: Media › Open Network Stream, then paste this URL.",
      }),
      info.dashUrl
        ? copyField({
            label: "DASH",
            value: withPlaybackToken(absoluteUrl(info.dashUrl), playbackToken),
            hint: "For MPEG-DASH players (VLC, dash.js, Shaka Player).",
          })
        : null,
    );
    externalSection.hidden = info.signedPlayback && !playbackToken;
  }
}

function renderState(state: ViewState): void {
  const badge = BADGES[state];
  badgeEl.hidden = !badge;
  if (!badge) return;
  badgeEl.textContent = badge.text;
  badgeEl.classList.toggle("badge-live", badge.live);
}

mountLiveView(byId("player"), streamId, { debugHandle: true, playbackToken, onStatus: renderInfo, onState: renderState });

// Chat panel (web/src/chat): <aside id="chat"> in watch.html is its mount point and stays collapsed while empty.
if (streamId) mountChat(byId("chat"), streamId);
