/**
 * Ingest health of the selected stream, as the ingest node last measured it (GET /api/streams/:id/health,
 * every HEALTH_INTERVAL_SECONDS while the page is visible, at once when it becomes visible again).
 *
 * The figures are a plain list that updates in place; only the status line is a live region, and it
 * speaks when the status or the set of warnings changes, not on every refresh.
 */
import { HEALTH_INTERVAL_SECONDS } from "../../../workers/shared/ingest-api";
import { h, replaceChildren } from "../lib/dom";
import { getHealth, type IngestHealth, type StreamHealth } from "./api";
import { errorLine, errorMessage, isUnauthorized, section, type PanelContext } from "./ui";

const POLL_MS = HEALTH_INTERVAL_SECONDS * 1000;
/** Keyframes this far from 2 s keep the source from being passed through as the top rung. */
const KEYFRAME_TARGET_SECONDS = 2;
const LAG_WARN_SECONDS = 4;
const NONE = "—";

export interface HealthPanel {
  readonly element: HTMLElement;
  /** The viewer count from the stream's status (undefined: unknown). */
  setViewers(viewers: number | undefined): void;
  refresh(): void;
  destroy(): void;
}

type Metric =
  | "inputKbps"
  | "inputFps"
  | "keyframeInterval"
  | "renditions"
  | "encoderSpeed"
  | "lag"
  | "shed"
  | "topRung"
  | "droppedSegments"
  | "viewers";

const LABELS: Array<[Metric, string]> = [
  ["inputKbps", "Incoming bitrate"],
  ["inputFps", "Frame rate"],
  ["keyframeInterval", "Keyframe interval"],
  ["renditions", "Renditions"],
  ["encoderSpeed", "Encoder speed"],
  ["lag", "Lag"],
  ["shed", "Rungs shed"],
  ["topRung", "Top rung"],
  ["droppedSegments", "Dropped segments"],
  ["viewers", "Viewers"],
];

export function formatKbps(kbps: number): string {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${Math.round(kbps)} kb/s`;
}

function round2(n: number): string {
  return String(Math.round(n * 100) / 100);
}

interface Figure {
  text: string;
  /** Shown under the figure, e.g. why the top rung is transcoded. */
  note?: string;
  /** Something for the streamer to fix; also spoken once in the status line. */
  warning?: string;
}

function figures(health: IngestHealth | null, viewers: number | undefined): Record<Metric, Figure> {
  const v: Figure = { text: viewers === undefined ? NONE : new Intl.NumberFormat().format(viewers) };
  if (!health) {
    const blank = { text: NONE };
    return {
      inputKbps: blank, inputFps: blank, keyframeInterval: blank, renditions: blank, encoderSpeed: blank,
      lag: blank, shed: blank, topRung: blank, droppedSegments: blank, viewers: v,
    };
  }
  const kf = health.keyframeIntervalSeconds;
  const speed = health.encoderSpeed;
  const passthrough = health.ladder.topRung === "passthrough";
  return {
    inputKbps: { text: health.inputKbps === null ? NONE : formatKbps(health.inputKbps) },
    inputFps: { text: health.inputFps === null ? NONE : `${round2(health.inputFps)} fps` },
    keyframeInterval: {
      text: kf === null ? NONE : `${kf.toFixed(1)} s`,
      warning:
        kf !== null && Math.abs(kf - KEYFRAME_TARGET_SECONDS) > 0.25
          ? `Keyframes every ${kf.toFixed(1)} s: set the keyframe interval to 2 s in OBS.`
          : undefined,
    },
    renditions: { text: health.renditions.length ? health.renditions.join(", ") : NONE },
    encoderSpeed: {
      text: speed === null ? NONE : `${speed.toFixed(2)}×`,
      warning: speed !== null && speed < 1 ? `The encoder runs slower than real time (${speed.toFixed(2)}×).` : undefined,
    },
    lag: {
      text: `${health.lagSeconds.toFixed(1)} s`,
      warning: health.lagSeconds > LAG_WARN_SECONDS ? `Encoding is ${health.lagSeconds.toFixed(1)} s behind the source.` : undefined,
    },
    shed: {
      text: health.shed.length ? health.shed.join(", ") : "none",
      warning: health.shed.length ? `Dropped to keep up with live: ${health.shed.join(", ")}.` : undefined,
    },
    topRung: { text: passthrough ? "Passthrough (source as sent)" : "Transcoded", note: health.ladder.reason || undefined },
    droppedSegments: {
      text: String(health.droppedSegments),
      warning: health.droppedSegments > 0 ? `${health.droppedSegments} segments were lost to a storage outage.` : undefined,
    },
    viewers: v,
  };
}

export function createHealthPanel(ctx: PanelContext): HealthPanel {
  const statusLine = h("div", { class: "health-status", role: "status", "aria-live": "polite" });
  const updated = h("p", { class: "hint health-updated" });
  const error = errorLine();
  const cells = new Map<Metric, { dd: HTMLElement; value: HTMLElement; note: HTMLElement }>();
  const list = h("dl", { class: "health-grid" });
  for (const [metric, label] of LABELS) {
    const value = h("span", { class: "health-value" }, NONE);
    const note = h("span", { class: "health-note", hidden: true });
    const dd = h("dd", { "data-metric": metric }, value, note);
    cells.set(metric, { dd, value, note });
    list.append(h("div", { class: "health-item" }, h("dt", {}, label), dd));
  }
  const element = section("health", ctx.streamId, "Ingest health", statusLine, list, updated, error);

  let last: StreamHealth | null = null;
  let viewers: number | undefined;
  let spoken = "";
  let timer: number | undefined;
  let inFlight: AbortController | null = null;
  let destroyed = false;

  function render(): void {
    const live = last?.status === "live";
    const shown = figures(live ? (last?.health ?? null) : null, viewers);
    const warnings: string[] = [];
    for (const [metric, fig] of Object.entries(shown) as Array<[Metric, Figure]>) {
      const cell = cells.get(metric)!;
      if (cell.value.textContent !== fig.text) cell.value.textContent = fig.text;
      cell.note.hidden = !fig.note;
      cell.note.textContent = fig.note ?? "";
      cell.dd.classList.toggle("health-warn", fig.warning !== undefined);
      if (fig.warning) warnings.push(fig.warning);
    }
    let status: string;
    if (!last) status = "Checking…";
    else if (!live) status = "Offline: the figures appear a few seconds after OBS starts streaming.";
    else if (!last.health) status = "Live: waiting for the first measurement.";
    else status = warnings.length ? `Live, with ${warnings.length === 1 ? "a warning" : `${warnings.length} warnings`}:` : "Live: ingest is healthy.";
    if (!live || !last?.health) warnings.length = 0;
    statusLine.classList.toggle("health-status-warn", warnings.length > 0);
    const said = [status, ...warnings].join("\n");
    if (said !== spoken) {
      spoken = said;
      replaceChildren(
        statusLine,
        h("p", { class: "health-headline" }, status),
        warnings.length ? h("ul", { class: "health-warnings" }, ...warnings.map((w) => h("li", {}, w))) : null,
      );
    }
    const at = live && last?.health?.measuredAt ? new Date(last.health.measuredAt) : null;
    updated.textContent = at && !Number.isNaN(at.getTime()) ? `Measured at ${at.toLocaleTimeString()}` : "";
  }

  async function poll(): Promise<void> {
    window.clearTimeout(timer);
    timer = undefined;
    if (destroyed || inFlight) return;
    if (document.hidden) return; // visibilitychange polls again
    const token = ctx.token();
    if (!token) return ctx.onAuthError();
    inFlight = new AbortController();
    try {
      last = await getHealth(token, ctx.streamId, inFlight.signal);
      error.textContent = "";
    } catch (err) {
      if (destroyed) return;
      if (isUnauthorized(err)) return ctx.onAuthError();
      const text = `Could not read the ingest health: ${errorMessage(err)}`;
      if (error.textContent !== text) error.textContent = text;
    } finally {
      inFlight = null;
    }
    if (destroyed) return;
    render();
    timer = window.setTimeout(() => void poll(), POLL_MS);
  }

  const lifetime = new AbortController();
  document.addEventListener(
    "visibilitychange",
    () => {
      if (!document.hidden && timer === undefined) void poll();
    },
    { signal: lifetime.signal },
  );
  render();
  void poll();

  return {
    element,
    setViewers(n) {
      if (n === viewers) return;
      viewers = n;
      render();
    },
    refresh: () => void poll(),
    destroy() {
      destroyed = true;
      lifetime.abort();
      inFlight?.abort();
      window.clearTimeout(timer);
    },
  };
}
