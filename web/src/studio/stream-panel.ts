/**
 * One stream in the studio: how to connect OBS, its live status, a preview, how to share it, and revoke.
 */
import { ApiError, mintPlaybackToken, setSignedPlayback, type AdminStreamEntry, type StreamInfo, type StreamStatus } from "../lib/api";
import { copyField } from "../lib/copy";
import { announce, h, replaceChildren } from "../lib/dom";
import { absoluteUrl } from "../lib/route";
import { mountLiveView, type LiveView } from "../player/live-view";
import { obsSettings } from "./obs-settings";
import { credentials, getToken } from "./session";

/** How long the preview's own playback token (signed streams) lasts. */
const PREVIEW_TOKEN_TTL_SECONDS = 6 * 3600;

export interface StreamPanelCallbacks {
  onStatus(id: string, status: StreamStatus): void;
  /** Resolves when the stream is gone; rejects with a message to show. */
  onRevoke(id: string): Promise<void>;
  /** The admin token was refused (401/403). */
  onAuthError(): void;
}

export interface StreamPanel {
  readonly element: HTMLElement;
  focus(): void;
  destroy(): void;
}

function embedCode(watchOrigin: string, id: string, title: string): string {
  const t = title.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<iframe src="${watchOrigin}/embed/${id}" title="${t}" width="960" height="540" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen style="border:0;max-width:100%;aspect-ratio:16/9;height:auto"></iframe>`;
}

export function createStreamPanel(stream: AdminStreamEntry, cb: StreamPanelCallbacks): StreamPanel {
  const { id } = stream;
  const saved = credentials(id);
  const streamKey = stream.streamKey ?? saved.streamKey;
  const rtmpUrl = stream.rtmpUrl ?? saved.rtmpUrl;
  const heading = h("h2", { id: `panel-title-${id}`, tabindex: -1 }, stream.title || "Untitled stream");
  const badge = h("span", { class: "badge" }, "…");
  const statusLine = h("p", { class: "panel-status", role: "status", "aria-live": "polite" });

  const connect = h(
    "section",
    { class: "panel-section", "aria-labelledby": `connect-${id}` },
    h("h3", { id: `connect-${id}` }, "Connect OBS"),
    rtmpUrl
      ? copyField({ label: "Server", value: rtmpUrl, hint: "OBS: Settings › Stream › Server" })
      : h("p", { class: "hint" }, "Server: the RTMP URL shown when you created a stream in this tab."),
    streamKey
      ? copyField({ label: "Stream key", value: streamKey, secret: true, hint: "Keep it secret: anyone with it can stream here. OBS: Settings › Stream › Stream Key" })
      : h("p", { class: "hint" }, "The stream key is shown only in the tab that created the stream. Lost it? Revoke this stream and create a new one."),
    obsSettings(),
  );

  const watchUrl = absoluteUrl(stream.watchUrl ?? `/watch/${id}`);
  const signedBox = h("input", { type: "checkbox", id: `signed-${id}`, checked: stream.signedPlayback === true });
  const signedError = h("p", { class: "error", role: "alert" });
  const share = h(
    "section",
    { class: "panel-section", "aria-labelledby": `share-${id}` },
    h("h3", { id: `share-${id}` }, "Share"),
    h(
      "div",
      { class: "check-row" },
      signedBox,
      h("label", { for: signedBox.id }, "Private: viewers need a playback link (signed playback)"),
    ),
    h(
      "p",
      { class: "hint" },
      "For embedding on your own site: its backend mints links with POST /api/streams/",
      id,
      "/playback-tokens and adds ?token=… to the embed URL. Without a link the watch page says “Private”.",
    ),
    signedError,
    h("p", {}, h("a", { href: watchUrl, target: "_blank", rel: "noopener" }, "Open the watch page"), " (new tab)"),
    copyField({ label: "Watch link", value: watchUrl }),
    copyField({ label: "HLS (VLC and other players)", value: absoluteUrl(stream.hlsUrl ?? `/live/${id}/master.m3u8`) }),
    copyField({ label: "Embed code", value: embedCode(location.origin, id, stream.title), multiline: true }),
  );

  const revokeButton = h("button", { type: "button", class: "btn btn-danger" }, "Revoke stream…");
  const confirmBox = h("div", { class: "confirm", hidden: true, role: "group", "aria-label": "Confirm revoke" });
  const revokeError = h("p", { class: "error", role: "alert" });
  const confirmButton = h("button", { type: "button", class: "btn btn-danger" }, "Yes, revoke it");
  const cancelButton = h("button", { type: "button", class: "btn" }, "Cancel");
  replaceChildren(
    confirmBox,
    h("p", {}, "Revoking disconnects the encoder, invalidates the stream key and takes the stream down. This can't be undone."),
    confirmButton,
    " ",
    cancelButton,
  );
  revokeButton.addEventListener("click", () => {
    confirmBox.hidden = false;
    revokeButton.hidden = true;
    cancelButton.focus();
  });
  cancelButton.addEventListener("click", () => {
    confirmBox.hidden = true;
    revokeButton.hidden = false;
    revokeButton.focus();
  });
  confirmButton.addEventListener("click", async () => {
    confirmButton.disabled = true;
    revokeError.textContent = "";
    try {
      await cb.onRevoke(id);
    } catch (err) {
      revokeError.textContent = `Could not revoke: ${err instanceof Error ? err.message : String(err)}`;
      confirmButton.disabled = false;
    }
  });
  const danger = h(
    "section",
    { class: "panel-section", "aria-labelledby": `danger-${id}` },
    h("h3", { id: `danger-${id}` }, "Revoke"),
    revokeButton,
    confirmBox,
    revokeError,
  );

  const previewEl = h("div", { class: "preview-player" });
  const preview = h(
    "section",
    { class: "panel-section panel-preview", "aria-labelledby": `preview-${id}` },
    h("h3", { id: `preview-${id}` }, "Preview"),
    previewEl,
    statusLine,
  );

  const element = h(
    "article",
    { class: "stream-panel", "aria-labelledby": heading.id, "data-stream-id": id },
    h("header", { class: "panel-header" }, heading, badge),
    h("div", { class: "panel-grid" }, preview, connect, share, danger),
  );

  let lastStatus: StreamStatus | null = null;
  function onStatus(info: StreamInfo | null): void {
    if (!info) return;
    badge.textContent = info.status === "live" ? "Live" : "Offline";
    badge.classList.toggle("badge-live", info.status === "live");
    if (info.status !== lastStatus) {
      announce(
        statusLine,
        info.status === "live"
          ? `Live${info.renditions.length ? `: ${info.renditions.join(", ")}` : ""}.`
          : "Offline: start streaming in OBS and the preview starts by itself.",
      );
      if (lastStatus !== null) cb.onStatus(id, info.status);
      lastStatus = info.status;
    }
  }

  // The preview doubles as the status poller (the public status endpoint, every 3 s). A private stream's
  // preview gets its own playback token.
  let view: LiveView | null = null;
  let mounts = 0;
  let destroyed = false;
  const previewError = h("p", { class: "error", role: "alert" });
  preview.append(previewError);
  async function mountPreview(signed: boolean): Promise<void> {
    const seq = ++mounts;
    view?.destroy();
    view = null;
    previewError.textContent = "";
    let playbackToken: string | null = null;
    const admin = getToken();
    if (signed && admin) {
      try {
        playbackToken = (await mintPlaybackToken(admin, id, PREVIEW_TOKEN_TTL_SECONDS)).token;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return cb.onAuthError();
        previewError.textContent = `No preview for a private stream: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    if (seq !== mounts || destroyed) return;
    view = mountLiveView(previewEl, id, { onStatus, debugHandle: true, playbackToken });
  }
  void mountPreview(stream.signedPlayback === true);

  signedBox.addEventListener("change", async () => {
    const admin = getToken();
    const wanted = signedBox.checked;
    if (!admin) return cb.onAuthError();
    signedBox.disabled = true;
    signedError.textContent = "";
    try {
      await setSignedPlayback(admin, id, wanted);
      stream.signedPlayback = wanted;
      void mountPreview(wanted);
    } catch (err) {
      signedBox.checked = !wanted;
      if (err instanceof ApiError && err.status === 401) return cb.onAuthError();
      signedError.textContent = `Could not change it: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      signedBox.disabled = false;
    }
  });

  return {
    element,
    focus: () => heading.focus(),
    destroy() {
      destroyed = true;
      view?.destroy();
      element.remove();
    },
  };
}
