/**
 * A stream's player that follows the stream's status by itself: it polls the public status API and turns
 * an "offline" screen into playback when the stream goes live, playback into "stream ended" when it stops,
 * and back again when the streamer reconnects (a new session), all without a page reload.
 *
 * Used by the watch page, the embed page and the studio's preview.
 */
import { getStream, type StreamInfo } from "../lib/api";
import { announce, h } from "../lib/dom";
import { FALLBACK_POSTER, withPlaybackToken } from "../lib/route";
import { PlayerControls } from "./controls";
import { LiveEngine, UnsupportedBrowserError } from "./engine";
import { MESSAGES, type ViewState } from "./states";

export type { ViewState };

export interface LiveViewOptions {
  /** Status poll while nothing plays (offline, ended). */
  idlePollMs?: number;
  /** Status poll while playing: catches "ended" and a new session when the playlist does not say so. */
  livePollMs?: number;
  /** Called with every status answer (null: no such stream). */
  onStatus?: (info: StreamInfo | null) => void;
  onState?: (state: ViewState) => void;
  /** Publish `window.onairPlayer` (see below). One per page. */
  debugHandle?: boolean;
  /** For streams with signed playback: added to the HLS URL as `?token=`. */
  playbackToken?: string | null;
}

export interface LiveView {
  readonly state: ViewState;
  readonly engine: LiveEngine | null;
  readonly video: HTMLVideoElement;
  /** Polls now instead of waiting for the next tick. */
  refresh(): void;
  destroy(): void;
}

/**
 * Read-only handle for tests and for debugging in the console: end-to-end tests read hls.js's levels,
 * latency and the view's state from here instead of scraping the controls. It exposes nothing the page
 * does not already have, and the handle's properties can't be reassigned.
 */
export interface OnairPlayerHandle {
  readonly hls: LiveEngine["hls"];
  readonly video: HTMLVideoElement;
  readonly state: ViewState;
  readonly mode: LiveEngine["mode"] | null;
  readonly streamId: string | null;
}

declare global {
  interface Window {
    onairPlayer?: OnairPlayerHandle;
  }
}

/** `streamId` null (a malformed link) shows "not found" without asking the API. */
export function mountLiveView(container: HTMLElement, streamId: string | null, options: LiveViewOptions = {}): LiveView {
  const idlePollMs = options.idlePollMs ?? 3000;
  const livePollMs = options.livePollMs ?? 5000;

  const video = h("video", { class: "player-video", playsinline: true, muted: true, autoplay: true, "aria-label": "Live video" });
  video.muted = true; // the attribute only sets the default; autoplay needs the property
  const poster = h("img", { class: "player-poster", src: FALLBACK_POSTER, alt: "" });
  const title = h("p", { class: "player-message-title" });
  const detail = h("p", { class: "player-message-detail" });
  const overlay = h("div", { class: "player-overlay" }, poster, h("div", { class: "player-message" }, title, detail));
  const playButton = h("button", { type: "button", class: "player-bigplay", hidden: true }, "Play");
  const live = h("div", { class: "sr-only", "aria-live": "polite", role: "status" });
  container.classList.add("player");
  container.setAttribute("role", "region");
  container.setAttribute("aria-label", "Video player");
  container.replaceChildren(video, overlay, playButton, live);
  const controls = new PlayerControls(container, video);

  let state: ViewState = "loading";
  let engine: LiveEngine | null = null;
  let playingSession: string | null = null;
  let endedSession: string | null | undefined;
  let startToken = 0;
  let pollTimer: number | undefined;
  let endTimer: number | undefined;
  let restartDelayMs = 1000;
  let destroyed = false;
  let userUnmuted = false;
  /** The Worker refused our token (403): wait for the stream to become public rather than retry. */
  let forbidden = false;
  let lastInfo: StreamInfo | null = null;
  /** A start is waiting for hls.js to download: polls must not start another. */
  let creating = false;
  /** Stall watchdog: media time and when it last moved. */
  let watchTime = -1;
  let watchSince = 0;
  const lifetime = new AbortController();

  function setState(next: ViewState, detailOverride?: string): void {
    if (state === next) return;
    state = next;
    container.dataset.state = next;
    const m = { ...MESSAGES[next], ...(detailOverride ? { detail: detailOverride } : {}) };
    overlay.hidden = next === "playing";
    const transient = next === "starting" || next === "reconnecting" || next === "loading";
    poster.hidden = transient;
    overlay.classList.toggle("player-overlay--dim", transient);
    title.textContent = m.title;
    detail.textContent = m.detail;
    if (next !== "playing") playButton.hidden = true;
    announce(live, m.announce);
    options.onState?.(next);
  }
  container.dataset.state = state;
  title.textContent = MESSAGES.loading.title;

  function stopEngine(): void {
    startToken += 1;
    creating = false;
    window.clearTimeout(endTimer);
    endTimer = undefined;
    controls.detach();
    engine?.destroy();
    engine = null;
    playingSession = null;
  }

  function ended(): void {
    endedSession = playingSession;
    stopEngine();
    setState("ended");
    schedulePoll();
  }

  /** The API says idle but the player may still hold the last seconds: let it play them out, then end. */
  function endSoon(): void {
    if (endTimer !== undefined) return;
    const b = video.buffered;
    const ahead = b.length > 0 ? Math.max(0, b.end(b.length - 1) - video.currentTime) : 0;
    const wait = state === "playing" && !video.paused ? Math.min(ahead + 1, 12) : 0;
    endTimer = window.setTimeout(ended, wait * 1000);
  }

  async function tryPlay(): Promise<void> {
    if (!userUnmuted) video.muted = true;
    try {
      await video.play();
    } catch (err) {
      if (!(err instanceof DOMException) || err.name !== "NotAllowedError") return; // AbortError: a new load began
      if (!video.muted) {
        // Unmuted autoplay refused (no user gesture on this page yet): play muted, the unmute button shows.
        video.muted = true;
        return tryPlay();
      }
      playButton.hidden = false; // even muted autoplay refused (data saver, policy): ask for a click
    }
  }

  async function start(info: StreamInfo): Promise<void> {
    stopEngine();
    const token = startToken;
    playingSession = info.sessionId;
    endedSession = undefined;
    setState("starting");
    let created: LiveEngine;
    creating = true;
    try {
      created = await LiveEngine.create(video, withPlaybackToken(info.hlsUrl, options.playbackToken));
    } catch (err) {
      if (token !== startToken || destroyed) return;
      creating = false;
      if (err instanceof UnsupportedBrowserError) {
        setState("unsupported");
        return;
      }
      // hls.js itself failed to download (flaky network): try again like any other failure.
      setState("reconnecting");
      retrySoon();
      return;
    }
    if (token !== startToken || destroyed) {
      created.destroy();
      return;
    }
    creating = false;
    engine = created;
    controls.attach(created);
    created.on("ended", () => ended());
    created.on("fatal", ({ httpStatus }) => {
      stopEngine();
      if (httpStatus === 403) {
        // Signed playback refused the token (expired, or bound to another network): retrying can't help.
        forbidden = true;
        setState("restricted", "This playback link has expired or is not valid here. Reload the page that showed it.");
        schedulePoll();
        return;
      }
      // Media or network gave out: start again from the master playlist if the API still says live.
      setState("reconnecting");
      retrySoon();
    });
    await tryPlay();
  }

  /** Asks the API again after a growing delay (1 s, 2 s, 4 s ... 15 s); a successful start resets it. */
  function retrySoon(): void {
    window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(() => void poll(), restartDelayMs);
    restartDelayMs = Math.min(restartDelayMs * 2, 15_000);
  }

  let polling = false;
  async function poll(): Promise<void> {
    if (destroyed || polling) return;
    if (streamId === null) {
      setState("not-found");
      return;
    }
    window.clearTimeout(pollTimer);
    pollTimer = undefined;
    polling = true;
    let info: StreamInfo | null;
    try {
      info = await getStream(streamId, lifetime.signal);
    } catch {
      polling = false;
      if (destroyed) return;
      // API unreachable: keep whatever is on screen and try again.
      schedulePoll();
      return;
    }
    polling = false;
    if (destroyed) return;
    options.onStatus?.(info);
    lastInfo = info;
    if (info === null) {
      stopEngine();
      setState("not-found");
      return; // nothing to wait for
    }
    const needsToken = info.signedPlayback && (!options.playbackToken || forbidden);
    if (!info.signedPlayback) forbidden = false;
    if (needsToken) {
      if (engine !== null) stopEngine();
      if (state !== "restricted") setState("restricted");
    } else if (info.status === "live") {
      window.clearTimeout(endTimer);
      endTimer = undefined;
      const newSession = info.sessionId !== playingSession;
      if (engine === null && !creating && state !== "unsupported") {
        // After an end, wait for a new session: the API may lag behind the playlist's ENDLIST.
        if (state !== "ended" || info.sessionId !== endedSession) void start(info);
      } else if (engine !== null && newSession) {
        void start(info); // the streamer reconnected: a new session, a new master playlist
      }
    } else if (engine !== null || state === "starting" || state === "playing" || state === "reconnecting") {
      endSoon();
    } else if (state === "loading" || state === "restricted") {
      setState("offline");
    }
    schedulePoll();
  }

  function schedulePoll(): void {
    if (destroyed || state === "not-found" || state === "unsupported") return;
    window.clearTimeout(pollTimer);
    let ms = engine !== null ? livePollMs : idlePollMs;
    if (document.hidden && engine === null) ms = Math.max(ms, 15_000);
    pollTimer = window.setTimeout(() => void poll(), ms);
  }

  video.addEventListener(
    "playing",
    () => {
      restartDelayMs = 1000;
      playButton.hidden = true;
      if (engine !== null && (state === "starting" || state === "reconnecting")) setState("playing");
    },
    { signal: lifetime.signal },
  );
  video.addEventListener("volumechange", () => (userUnmuted = !video.muted), { signal: lifetime.signal });
  playButton.addEventListener("click", () => void video.play().catch(() => undefined));
  document.addEventListener(
    "visibilitychange",
    () => {
      if (!document.hidden && engine === null && pollTimer !== undefined) void poll();
    },
    { signal: lifetime.signal },
  );

  /**
   * The API can say live while nothing new arrives (an encoder that froze, an ingest node that died
   * without closing its playlists): hls.js then just waits. Say so after a few seconds without progress,
   * and start over from the master playlist after a longer wait (it may point at a new session by now).
   */
  const STALL_NOTICE_MS = 6000;
  const STALL_RESTART_MS = 20_000;
  const watchdog = window.setInterval(() => {
    if (engine === null || video.paused || (state !== "playing" && state !== "reconnecting")) {
      watchTime = -1;
      return;
    }
    const now = Date.now();
    if (video.currentTime !== watchTime) {
      watchTime = video.currentTime;
      watchSince = now;
      if (state === "reconnecting") setState("playing");
      return;
    }
    const stalledMs = now - watchSince;
    if (stalledMs >= STALL_RESTART_MS && lastInfo?.status === "live") {
      watchTime = -1;
      void start(lastInfo);
    } else if (stalledMs >= STALL_NOTICE_MS && state === "playing") {
      setState("reconnecting");
    }
  }, 1000);

  const view: LiveView = {
    get state() {
      return state;
    },
    get engine() {
      return engine;
    },
    video,
    refresh: () => void poll(),
    destroy() {
      destroyed = true;
      lifetime.abort();
      window.clearInterval(watchdog);
      window.clearTimeout(pollTimer);
      stopEngine();
      controls.destroy();
      if (window.onairPlayer?.video === video) delete window.onairPlayer;
    },
  };

  if (options.debugHandle) {
    window.onairPlayer = Object.freeze({
      get hls() {
        return engine?.hls ?? null;
      },
      video,
      get state() {
        return state;
      },
      get mode() {
        return engine?.mode ?? null;
      },
      streamId,
    });
  }

  void poll();
  return view;
}
