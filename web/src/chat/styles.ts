/**
 * The chat panel's own styles, injected once, so the panel works on any page that mounts it; colours come
 * from the site's custom properties in onair.css.
 */
const CSS = `
.chat { position: relative; display: flex; flex-direction: column; height: 100%; min-height: 20rem; max-height: inherit; padding: .75rem; gap: .5rem; }
.chat-header { display: flex; align-items: baseline; justify-content: space-between; gap: .5rem; }
.chat-header h2 { margin: 0; }
.chat-viewers { color: var(--muted); font-size: .9rem; font-variant-numeric: tabular-nums; }
.chat-status { margin: 0; color: var(--muted); font-size: .9rem; }
.chat-log { list-style: none; margin: 0; padding: 0; flex: 1; min-height: 8rem; overflow-y: auto; overflow-wrap: anywhere; }
.chat-log li { padding: .15rem 0; }
.chat-nick { font-weight: 600; color: var(--focus); }
.chat-own .chat-nick { color: var(--accent); }
.chat-reactions { display: flex; flex-wrap: wrap; gap: .25rem; }
.chat-reaction { padding: .25rem .5rem; min-height: 2.25rem; font-size: 1.1rem; line-height: 1; }
.chat-slow, .chat-notice { margin: 0; color: var(--muted); font-size: .85rem; }
.chat-notice:empty { display: none; }
.chat-form { display: flex; gap: .5rem; }
.chat-form input { flex: 1; min-width: 0; }
.chat-floats { position: absolute; inset: 0; pointer-events: none; overflow: hidden; }
.chat-float { position: absolute; bottom: 4rem; font-size: 1.6rem; animation: chat-float 2.2s ease-out forwards; }
@keyframes chat-float { from { transform: translateY(0) scale(.8); opacity: 1; } to { transform: translateY(-14rem) scale(1.2); opacity: 0; } }
`;

const STYLE_ID = "onair-chat-styles";

export function ensureChatStyles(): void {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  document.head.append(style);
}
