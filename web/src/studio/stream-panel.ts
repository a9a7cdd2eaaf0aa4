/**
 * One stream in the studio, in two columns (one on narrow screens): preview, ingest health and chat
 * moderation; then connecting OBS, sharing, recording and webhook settings, recordings and revoking.
 * Each part is its own module; this one wires them to the stream's status and the studio's session.
 */
import { ApiError, mintPlaybackToken, setSignedPlayback, type AdminStreamEntry, type StreamInfo, type StreamStatus } from "../lib/api";
import { copyField } from "../lib/copy";
import { announce, h } from "../lib/dom";
import { absoluteUrl } from "../lib/route";
import { mountLiveView, type LiveView } from "../player/live-view";
import { createConnectSection } from "./connect-section";
import { createHealthPanel } from "./health-panel";
import { createModerationPanel } from "./moderation-panel";
import { createRecordingsPanel } from "./recordings-panel";
import { getToken } from "./session";
import { createSettingsSection } from "./stream-settings";
import { confirmStep, errorLine, errorMessage, section, type PanelContext } from "./ui";

/** How long the preview's own playback token (signed streams) lasts. */
const PREVIEW_TOKEN_TTL_SECONDS = 6 * 3600;

export interface StreamPanelCallbacks {
  onStatus(id: string, status: StreamStatus): void;
  /** Resolves when the stream is gone; rejects with a message to show. */
  onRevoke(id: string): Promise<void>;
  /** The admin token was refused (401/403). */
  onAuthError(): void;
  /** Says something in the studio's live region. */
  announce(message: string): void;
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
  const ctx: PanelContext = { streamId: id, token: getToken, onAuthError: () => cb.onAuthError(), announce: (m) => cb.announce(m) };
  const heading = h("h2", { id: `panel-title-${id}`, tabindex: -1 }, stream.title || "Untitled stream");
  const badge = h("span", { class: "badge" }, "…");
  const statusLine = h("p", { class: "panel-status", role: "status", "aria-live": "polite" });

  const watchUrl = absoluteUrl(stream.watchUrl ?? `/watch/${id}`);
  const signedBox = h("input", { type: "checkbox", id: `signed-${id}`, checked: stream.signedPlayback === true });
  const signedError = errorLine();
  const share = section(
    "share",
    id,
    "Share",
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
    stream.dashUrl ? copyField({ label: "DASH (MPEG-DASH players)", value: absoluteUrl(stream.dashUrl) }) : null,
    copyField({ label: "Embed code", value: embedCode(location.origin, id, stream.title), multiline: true }),
  );

  const revokeError = errorLine();
  const danger = section(
    "danger",
    id,
    "Revoke",
    confirmStep({
      label: "Revoke stream…",
      prompt: "Revoking disconnects the encoder, invalidates the stream key and takes the stream down. This can't be undone.",
      confirmLabel: "Yes, revoke it",
      groupLabel: "Confirm revoke",
      onConfirm: async () => {
        revokeError.textContent = "";
        try {
          await cb.onRevoke(id);
          return true;
        } catch (err) {
          revokeError.textContent = `Could not revoke: ${errorMessage(err)}`;
          return false;
        }
      },
    }),
    revokeError,
  );

  const previewEl = h("div", { class: "preview-player" });
  const previewError = errorLine();
  const preview = section("preview", id, "Preview", previewEl, statusLine, previewError);

  const health = createHealthPanel(ctx);
  const moderation = createModerationPanel(ctx);
  const recordings = createRecordingsPanel({ ...ctx, signedPlayback: () => stream.signedPlayback === true });

  const element = h(
    "article",
    { class: "stream-panel", "aria-labelledby": heading.id, "data-stream-id": id },
    h("header", { class: "panel-header" }, heading, badge),
    h(
      "div",
      { class: "panel-columns" },
      h("div", { class: "panel-col" }, preview, health.element, moderation.element),
      h(
        "div",
        { class: "panel-col" },
        createConnectSection(stream, ctx),
        share,
        createSettingsSection(stream, ctx),
        recordings.element,
        danger,
      ),
    ),
  );

  let lastStatus: StreamStatus | null = null;
  function onStatus(info: StreamInfo | null): void {
    if (!info) return;
    badge.textContent = info.status === "live" ? "Live" : "Offline";
    badge.classList.toggle("badge-live", info.status === "live");
    health.setViewers(info.viewers);
    if (info.status !== lastStatus) {
      announce(
        statusLine,
        info.status === "live"
          ? `Live${info.renditions.length ? `: ${info.renditions.join(", ")}` : ""}.`
          : "Offline: start streaming in OBS and the preview starts by itself.",
      );
      if (lastStatus !== null) {
        cb.onStatus(id, info.status);
        health.refresh();
        recordings.statusChanged(info.status === "live");
      }
      lastStatus = info.status;
    }
  }

  // The preview doubles as the status poller (the public status endpoint, every 3 s). A private stream's
  // preview gets its own playback token.
  let view: LiveView | null = null;
  let mounts = 0;
  let destroyed = false;
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
        previewError.textContent = `No preview for a private stream: ${errorMessage(err)}`;
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
      signedError.textContent = `Could not change it: ${errorMessage(err)}`;
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
      health.destroy();
      moderation.destroy();
      recordings.destroy();
      element.remove();
    },
  };
}
