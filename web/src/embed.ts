/**
 * /embed/:id — only the player, filling its frame. Meant for
 *   <iframe src="https://HOST/embed/ID" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>
 * A stream with signed playback needs `?token=<playback token>` on that URL, minted by the embedding site's
 * backend (POST /api/streams/:id/playback-tokens).
 */
import { byId } from "./lib/dom";
import { playbackTokenFromUrl, streamIdFromPath } from "./lib/route";
import { mountLiveView } from "./player/live-view";

mountLiveView(byId("player"), streamIdFromPath(), {
  debugHandle: true,
  playbackToken: playbackTokenFromUrl(),
  onStatus: (info) => {
    if (info?.title) document.title = `${info.title} · onair`;
  },
});
