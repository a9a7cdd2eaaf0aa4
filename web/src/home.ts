/**
 * / — the streams that are live now, refreshed every 15 s. Cards are updated in place (by stream id), so a
 * refresh does not reload thumbnails or move keyboard focus.
 */
import { listLiveStreams, type LiveStreamSummary } from "./lib/api";
import { announce, byId, h } from "./lib/dom";
import { formatViewers } from "./lib/format";
import { FALLBACK_POSTER, posterUrl } from "./lib/route";

const REFRESH_MS = 15_000;
const list = byId<HTMLUListElement>("live-list");
const summary = byId("live-summary");
const empty = byId("live-empty");
const cards = new Map<string, { li: HTMLLIElement; title: HTMLElement; viewers: HTMLElement }>();

function card(stream: LiveStreamSummary): { li: HTMLLIElement; title: HTMLElement; viewers: HTMLElement } {
  const img = h("img", { class: "card-img", src: posterUrl(stream.id), alt: "", loading: "lazy", decoding: "async", width: 320, height: 180 });
  img.addEventListener("error", () => {
    if (!img.src.endsWith(FALLBACK_POSTER)) img.src = FALLBACK_POSTER;
  });
  const title = h("h2", { class: "card-title" });
  const viewers = h("p", { class: "card-viewers" });
  const li = h(
    "li",
    { class: "card", "data-stream-id": stream.id },
    h(
      "a",
      { class: "card-link", href: `/watch/${encodeURIComponent(stream.id)}` },
      h("span", { class: "card-thumb" }, img, h("span", { class: "badge badge-live card-badge" }, "Live")),
      h("span", { class: "card-body" }, title, viewers),
    ),
  );
  return { li, title, viewers };
}

function render(streams: LiveStreamSummary[]): void {
  const seen = new Set<string>();
  streams.forEach((s, i) => {
    seen.add(s.id);
    let c = cards.get(s.id);
    if (!c) {
      c = card(s);
      cards.set(s.id, c);
    }
    const title = s.title || "Untitled stream";
    if (c.title.textContent !== title) c.title.textContent = title;
    const viewers = s.viewers === undefined ? "" : formatViewers(s.viewers);
    if (c.viewers.textContent !== viewers) c.viewers.textContent = viewers;
    c.viewers.hidden = viewers === "";
    if (list.children[i] !== c.li) list.insertBefore(c.li, list.children[i] ?? null);
  });
  for (const [id, c] of cards) {
    if (!seen.has(id)) {
      c.li.remove();
      cards.delete(id);
    }
  }
  empty.hidden = streams.length > 0;
  announce(summary, streams.length === 0 ? "Nobody is live right now." : streams.length === 1 ? "1 stream is live." : `${streams.length} streams are live.`);
}

async function refresh(): Promise<void> {
  try {
    render(await listLiveStreams());
  } catch {
    announce(summary, "Can't load the live streams right now. Trying again shortly.");
  }
  window.setTimeout(() => void refresh(), REFRESH_MS);
}

void refresh();
