/**
 * The player's own controls (native <video controls> have no quality menu, no latency readout and a
 * misleading seek bar for live). All are real <button>/<select>/<input> elements: keyboard-reachable, labelled.
 */
import { h } from "../lib/dom";
import { formatSeconds, heightLabel } from "../lib/format";
import type { LiveEngine, QualityOption } from "./engine";

let instances = 0;

export class PlayerControls {
  readonly bar: HTMLDivElement;
  readonly unmuteButton: HTMLButtonElement;
  private readonly video: HTMLVideoElement;
  private readonly root: HTMLElement;
  private readonly playButton: HTMLButtonElement;
  private readonly muteButton: HTMLButtonElement;
  private readonly volume: HTMLInputElement;
  private readonly liveButton: HTMLButtonElement;
  private readonly latencyText: HTMLSpanElement;
  private readonly latencyValue: HTMLSpanElement;
  private idleTimer: number | undefined;
  private readonly qualityWrap: HTMLSpanElement;
  private readonly quality: HTMLSelectElement;
  private readonly fullscreenButton: HTMLButtonElement;
  private engine: LiveEngine | null = null;
  private unsubscribe: Array<() => void> = [];
  private timer: number | undefined;
  private autoHeight = 0;
  /** Removes the listeners this object put on the video and the document. */
  private readonly lifetime = new AbortController();

  constructor(root: HTMLElement, video: HTMLVideoElement) {
    this.root = root;
    this.video = video;
    const n = ++instances;
    this.playButton = h("button", { type: "button", class: "pc-btn" }, "Pause");
    this.muteButton = h("button", { type: "button", class: "pc-btn" }, "Unmute");
    this.volume = h("input", { type: "range", class: "pc-volume", min: 0, max: 1, step: 0.05, "aria-label": "Volume" });
    this.liveButton = h("button", { type: "button", class: "pc-live" }, "Live");
    this.latencyValue = h("span", {});
    this.latencyText = h(
      "span",
      { class: "pc-latency", title: "How far behind the live edge this player is" },
      h("span", { class: "pc-latency-label" }, "Latency "),
      this.latencyValue,
    );
    this.quality = h("select", { id: `pc-quality-${n}`, class: "pc-quality" });
    this.qualityWrap = h(
      "span",
      { class: "pc-quality-wrap", hidden: true },
      h("label", { for: this.quality.id, class: "sr-only" }, "Quality"),
      this.quality,
    );
    this.fullscreenButton = h("button", { type: "button", class: "pc-btn" }, "Fullscreen");
    this.bar = h(
      "div",
      { class: "player-controls", role: "group", "aria-label": "Player controls", hidden: true },
      this.playButton,
      this.muteButton,
      this.volume,
      this.liveButton,
      this.latencyText,
      h("span", { class: "pc-spacer" }),
      this.qualityWrap,
      this.fullscreenButton,
    );
    this.unmuteButton = h("button", { type: "button", class: "player-unmute", hidden: true }, "Unmute");
    root.append(this.unmuteButton, this.bar);

    this.playButton.addEventListener("click", () => {
      if (this.video.paused) void this.video.play().catch(() => undefined);
      else this.video.pause();
    });
    const toggleMute = () => {
      this.video.muted = !this.video.muted;
      if (!this.video.muted && this.video.volume === 0) this.video.volume = 1;
    };
    this.muteButton.addEventListener("click", toggleMute);
    this.unmuteButton.addEventListener("click", () => {
      toggleMute();
      this.syncButtons();
      this.muteButton.focus();
    });
    this.volume.addEventListener("input", () => {
      this.video.volume = Number(this.volume.value);
      this.video.muted = this.video.volume === 0;
    });
    this.liveButton.addEventListener("click", () => {
      if (this.liveButton.getAttribute("aria-disabled") !== "true") this.engine?.goLive();
    });
    this.quality.addEventListener("change", () => this.engine?.setQuality(Number(this.quality.value)));
    this.fullscreenButton.addEventListener("click", () => this.toggleFullscreen());
    if (!document.fullscreenEnabled && !("webkitEnterFullscreen" in video)) this.fullscreenButton.hidden = true;
    const signal = this.lifetime.signal;
    for (const type of ["play", "pause", "playing", "volumechange"]) video.addEventListener(type, () => this.syncButtons(), { signal });
    document.addEventListener("fullscreenchange", () => this.syncButtons(), { signal });
    // Controls fade out after a few seconds without pointer or keyboard activity while playing, and come
    // back on any movement, tap or focus (CSS keeps them visible while focused or paused).
    for (const type of ["pointermove", "pointerdown", "keydown", "focusin"]) root.addEventListener(type, () => this.wake(), { signal });
    this.syncButtons();
  }

  attach(engine: LiveEngine): void {
    this.detach();
    this.engine = engine;
    this.autoHeight = 0;
    this.unsubscribe.push(
      engine.on("levels", (levels) => this.renderQualities(levels)),
      engine.on("level", ({ height }) => {
        this.autoHeight = height;
        this.renderAutoLabel();
      }),
    );
    this.renderQualities(engine.qualities());
    this.bar.hidden = false;
    this.timer = window.setInterval(() => this.tick(), 500);
    this.syncButtons();
    this.tick();
    this.wake();
  }

  detach(): void {
    for (const fn of this.unsubscribe.splice(0)) fn();
    window.clearInterval(this.timer);
    this.engine = null;
    this.bar.hidden = true;
    this.unmuteButton.hidden = true;
    this.qualityWrap.hidden = true;
  }

  private renderQualities(levels: QualityOption[]): void {
    this.quality.replaceChildren(
      h("option", { value: -1 }, "Auto"),
      ...levels.map((q) => h("option", { value: q.index }, heightLabel(q.height))),
    );
    this.qualityWrap.hidden = levels.length < 2;
    this.quality.value = String(this.engine?.selectedQuality() ?? -1);
    this.renderAutoLabel();
  }

  private renderAutoLabel(): void {
    const auto = this.quality.querySelector('option[value="-1"]');
    if (auto) auto.textContent = this.autoHeight > 0 ? `Auto (${heightLabel(this.autoHeight)})` : "Auto";
  }

  private syncButtons(): void {
    const v = this.video;
    this.playButton.textContent = v.paused ? "Play" : "Pause";
    this.muteButton.textContent = v.muted ? "Unmute" : "Mute";
    this.volume.value = String(v.muted ? 0 : v.volume);
    // While muted the prominent "Unmute" button is the one control for it; the bar's appears once unmuted.
    this.unmuteButton.hidden = !this.engine || !v.muted;
    this.muteButton.hidden = !this.unmuteButton.hidden;
    if (v.paused) this.wake();
    this.fullscreenButton.textContent = document.fullscreenElement ? "Exit fullscreen" : "Fullscreen";
  }

  private tick(): void {
    const engine = this.engine;
    if (!engine) return;
    const latency = engine.latency();
    this.latencyText.hidden = latency === null;
    this.latencyValue.textContent = latency === null ? "" : formatSeconds(latency);
    // Behind live: paused, or more than a few seconds further back than the target the player aims for.
    const target = engine.targetLatency() ?? 6;
    const behind = this.video.paused || (latency !== null && latency > Math.max(target + 3, target * 1.5));
    this.liveButton.textContent = behind ? "Back to live" : "Live";
    this.liveButton.classList.toggle("pc-live-edge", !behind);
    this.liveButton.setAttribute("aria-disabled", String(!behind));
    this.liveButton.title = behind ? "Jump to the live edge" : "You are watching live";
  }

  private wake(): void {
    delete this.root.dataset.idle;
    window.clearTimeout(this.idleTimer);
    this.idleTimer = window.setTimeout(() => {
      if (this.engine && !this.video.paused) this.root.dataset.idle = "true";
    }, 3500);
  }

  private toggleFullscreen(): void {
    if (document.fullscreenElement) {
      void document.exitFullscreen().catch(() => undefined);
    } else if (this.root.requestFullscreen) {
      void this.root.requestFullscreen().catch(() => undefined);
    } else {
      // iPhone Safari: only the video element itself can go fullscreen.
      (this.video as HTMLVideoElement & { webkitEnterFullscreen?: () => void }).webkitEnterFullscreen?.();
    }
  }

  destroy(): void {
    this.detach();
    this.lifetime.abort();
    window.clearTimeout(this.idleTimer);
    this.bar.remove();
    this.unmuteButton.remove();
  }
}
