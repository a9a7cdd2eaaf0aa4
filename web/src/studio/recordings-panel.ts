/**
 * The selected stream's recordings (GET /api/streams/:id/recordings, newest first): each can be played
 * here (hls.js, like the player), opened by its HLS URL in another player, or deleted. Refreshed when the
 * stream's status changes (a recording is published after a session ends), every minute, and on demand.
 */
import { mintPlaybackToken } from "../lib/api";
import { h, replaceChildren } from "../lib/dom";
import { formatDateTime, formatDuration } from "../lib/format";
import { absoluteUrl, withPlaybackToken } from "../lib/route";
import { LiveEngine } from "../player/engine";
import { deleteRecording, listRecordings, type Recording } from "./api";
import { act, confirmStep, errorLine, errorMessage, section, type PanelContext } from "./ui";

const REFRESH_MS = 60_000;
/** After the stream goes offline, a recording takes a few seconds to be published: look again then. */
const AFTER_END_MS = [5_000, 15_000];
const PLAYBACK_TOKEN_TTL_SECONDS = 4 * 3600;

export interface RecordingsContext extends PanelContext {
  /** The stream needs playback tokens: the studio mints one to play a recording. */
  signedPlayback(): boolean;
}

export interface RecordingsPanel {
  readonly element: HTMLElement;
  /** The stream's status changed: a recording may have appeared. */
  statusChanged(live: boolean): void;
  destroy(): void;
}

export function createRecordingsPanel(ctx: RecordingsContext): RecordingsPanel {
  const { streamId } = ctx;
  const summary = h("p", { class: "hint", role: "status" }, "Loading…");
  const list = h("ul", { class: "recording-list" });
  const error = errorLine();
  const refreshButton = h("button", { type: "button", class: "btn btn-small" }, "Refresh");
  const video = h("video", { class: "recording-video", controls: true, playsinline: true, preload: "metadata" });
  const caption = h("p", { class: "recording-caption" });
  const closeButton = h("button", { type: "button", class: "btn btn-small" }, "Close player");
  const playerError = errorLine();
  const player = h("div", { class: "recording-player", hidden: true }, caption, video, playerError, closeButton);
  const element = section(
    "recordings",
    streamId,
    "Recordings",
    h("div", { class: "section-tools" }, summary, refreshButton),
    list,
    error,
    player,
  );

  let engine: LiveEngine | null = null;
  let playing: string | null = null;
  let plays = 0;
  let timer: number | undefined;
  const timers: number[] = [];
  let loading: AbortController | null = null;
  let destroyed = false;

  function stopPlayer(): void {
    plays += 1;
    engine?.destroy();
    engine = null;
    playing = null;
    player.hidden = true;
    playerError.textContent = "";
  }

  async function play(rec: Recording, label: string): Promise<void> {
    stopPlayer();
    const seq = plays;
    playing = rec.sessionId;
    player.hidden = false;
    caption.textContent = `Recording of ${label}`;
    let url = absoluteUrl(rec.hlsUrl);
    if (ctx.signedPlayback()) {
      const ok = await act(ctx, playerError, "Could not get a playback token", async (token) => {
        url = withPlaybackToken(url, (await mintPlaybackToken(token, streamId, PLAYBACK_TOKEN_TTL_SECONDS)).token);
      });
      if (!ok || seq !== plays) return;
    }
    try {
      const created = await LiveEngine.create(video, url);
      if (seq !== plays || destroyed) return created.destroy();
      engine = created;
      created.on("fatal", ({ details, httpStatus }) => {
        playerError.textContent = `Could not play this recording (${httpStatus ? `HTTP ${httpStatus}` : details}).`;
      });
      video.focus();
      await video.play().catch(() => undefined); // a refused autoplay leaves the controls to the streamer
    } catch (err) {
      if (seq === plays) playerError.textContent = `Could not play this recording: ${errorMessage(err)}`;
    }
  }

  function row(rec: Recording): HTMLLIElement {
    const label = formatDateTime(rec.startedAt);
    const hlsUrl = absoluteUrl(rec.hlsUrl);
    const playButton = h("button", { type: "button", class: "btn btn-small", "aria-label": `Play the recording of ${label}` }, "Play");
    playButton.addEventListener("click", () => void play(rec, label));
    const li = h(
      "li",
      { class: "recording", "data-session": rec.sessionId },
      h(
        "div",
        { class: "recording-info" },
        h("span", { class: "recording-date" }, label),
        h("span", { class: "hint" }, formatDuration(rec.durationSeconds), rec.renditions.length ? ` · ${rec.renditions.join(", ")}` : ""),
      ),
      h(
        "div",
        { class: "recording-actions" },
        playButton,
        h("a", { class: "btn btn-small", href: hlsUrl, target: "_blank", rel: "noopener", "aria-label": `HLS URL of the recording of ${label} (opens a new tab)` }, "HLS URL"),
        confirmStep({
          label: "Delete…",
          ariaLabel: `Delete the recording of ${label}…`,
          prompt: "Delete this recording? Its video is removed for good.",
          confirmLabel: "Yes, delete it",
          groupLabel: `Confirm deleting the recording of ${label}`,
          small: true,
          onConfirm: async () => {
            const ok = await act(ctx, error, "Could not delete the recording", (token) => deleteRecording(token, streamId, rec.sessionId));
            if (!ok) return false;
            if (playing === rec.sessionId) stopPlayer();
            const next = (li.nextElementSibling ?? li.previousElementSibling) as HTMLElement | null;
            li.remove();
            showSummary();
            ctx.announce(`Deleted the recording of ${label}.`);
            (next?.querySelector<HTMLButtonElement>("button") ?? refreshButton).focus();
            return true;
          },
        }),
      ),
    );
    return li;
  }

  function showSummary(): void {
    const n = list.childElementCount;
    summary.textContent =
      n === 0
        ? "No recordings yet. With “Record each broadcast” on, each broadcast is kept here when it ends."
        : n === 1
          ? "1 recording."
          : `${n} recordings.`;
  }

  async function load(): Promise<void> {
    window.clearTimeout(timer);
    loading?.abort();
    const ac = (loading = new AbortController());
    try {
      const recordings = await listRecordings(streamId, ac.signal);
      if (ac.signal.aborted) return;
      error.textContent = "";
      // Rebuild only when the list changed, so focus and open confirmations survive a refresh.
      const now = recordings.map((r) => r.sessionId).join(" ");
      const shown = [...list.children].map((li) => (li as HTMLElement).dataset.session).join(" ");
      if (now !== shown) replaceChildren(list, ...recordings.map(row));
      showSummary();
    } catch (err) {
      if (ac.signal.aborted || destroyed) return;
      error.textContent = `Could not list the recordings: ${errorMessage(err)}`;
      if (list.childElementCount === 0) summary.textContent = "";
    } finally {
      if (loading === ac) loading = null;
    }
    if (!destroyed) timer = window.setTimeout(() => void load(), REFRESH_MS);
  }

  refreshButton.addEventListener("click", () => void load());
  closeButton.addEventListener("click", () => {
    stopPlayer();
    (list.querySelector<HTMLButtonElement>("button") ?? refreshButton).focus();
  });
  void load();

  return {
    element,
    statusChanged(live) {
      void load();
      if (!live) for (const ms of AFTER_END_MS) timers.push(window.setTimeout(() => void load(), ms));
    },
    destroy() {
      destroyed = true;
      loading?.abort();
      window.clearTimeout(timer);
      timers.forEach((t) => window.clearTimeout(t));
      stopPlayer();
    },
  };
}
