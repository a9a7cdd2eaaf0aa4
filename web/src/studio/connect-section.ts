/**
 * How to connect OBS: the RTMP server, the stream key (hidden until revealed) and the recommended
 * settings. The API shows a key only when it is made: at creation (kept in this tab) or by rotating it
 * here (POST /api/streams/:id/key), which also stops the old key working.
 */
import type { AdminStreamEntry } from "../lib/api";
import { copyField } from "../lib/copy";
import { h, replaceChildren } from "../lib/dom";
import { rotateStreamKey, type NewStreamKey } from "./api";
import { obsSettings } from "./obs-settings";
import { credentials, rememberCredentials } from "./session";
import { act, confirmStep, errorLine, section, type PanelContext } from "./ui";

const KEY_HINT = "Keep it secret: anyone with it can stream here. OBS: Settings › Stream › Stream Key";

function serverField(rtmpUrl: string | undefined): HTMLElement {
  return rtmpUrl
    ? copyField({ label: "Server", value: rtmpUrl, hint: "OBS: Settings › Stream › Server" })
    : h("p", { class: "hint" }, "Server: the RTMP URL shown when you created a stream in this tab, or rotate the key to see it again.");
}

function keyField(streamKey: string | undefined): HTMLElement {
  return streamKey
    ? copyField({ label: "Stream key", value: streamKey, secret: true, hint: KEY_HINT })
    : h("p", { class: "hint" }, "The stream key is shown only in the tab that created the stream. Lost it? Rotate the key to get a new one.");
}

export function createConnectSection(stream: AdminStreamEntry, ctx: PanelContext): HTMLElement {
  const saved = credentials(stream.id);
  const serverSlot = h("div", {}, serverField(stream.rtmpUrl ?? saved.rtmpUrl));
  const keySlot = h("div", {}, keyField(stream.streamKey ?? saved.streamKey));
  const error = errorLine();
  const rotate = confirmStep({
    label: "Rotate key…",
    prompt: "Make a new stream key? The current key stops working at once: paste the new one into OBS before you next go live.",
    confirmLabel: "Yes, make a new key",
    groupLabel: "Confirm key rotation",
    onConfirm: async () => {
      const got: { key?: NewStreamKey } = {};
      const ok = await act(ctx, error, "Could not rotate the key", async (token) => {
        got.key = await rotateStreamKey(token, stream.id);
      });
      if (!ok || !got.key) return false;
      const { streamKey, rtmpUrl } = got.key;
      rememberCredentials(stream.id, streamKey, rtmpUrl);
      stream.streamKey = streamKey;
      stream.rtmpUrl = rtmpUrl;
      replaceChildren(serverSlot, serverField(rtmpUrl));
      replaceChildren(keySlot, keyField(streamKey));
      ctx.announce("New stream key made. It is hidden: use Reveal to see it, or Copy. The old key no longer works.");
      keySlot.querySelector("input")?.focus();
      return true;
    },
  });
  return section(
    "connect",
    stream.id,
    "Connect OBS",
    serverSlot,
    keySlot,
    h("div", { class: "rotate-key" }, rotate, error),
    obsSettings(),
  );
}
