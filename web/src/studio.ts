/**
 * /studio — for the person who runs the instance: sign in with the admin token, create streams, get the
 * OBS settings, watch a preview with the ingest health, moderate the chat, change recording and webhook
 * settings, rotate the key, manage recordings, revoke (the panels are in studio/). The token stays in this tab (sessionStorage) and only goes to
 * this site's /api in an Authorization header.
 */
import { ApiError, createStream, listStreams, revokeStream, type AdminStreamEntry } from "./lib/api";
import { announce, byId, h } from "./lib/dom";
import { createStreamPanel, type StreamPanel } from "./studio/stream-panel";
import { clearSession, forgetCredentials, getToken, rememberCredentials, setToken } from "./studio/session";

const LIST_REFRESH_MS = 15_000;

const announcer = byId("studio-announcer");
const signinSection = byId("signin");
const signinForm = byId<HTMLFormElement>("signin-form");
const tokenInput = byId<HTMLInputElement>("token");
const signinError = byId("signin-error");
const dashboard = byId("dashboard");
const signoutButton = byId<HTMLButtonElement>("signout");
const createForm = byId<HTMLFormElement>("create-form");
const titleInput = byId<HTMLInputElement>("stream-title-input");
const recordInput = byId<HTMLInputElement>("create-record");
const createError = byId("create-error");
const listEl = byId<HTMLUListElement>("stream-list");
const listEmpty = byId("stream-list-empty");
const panelHost = byId("stream-panel");

let streams: AdminStreamEntry[] = [];
let selected: string | null = null;
let panel: StreamPanel | null = null;
let listTimer: number | undefined;

function isAuthError(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 401 || err.status === 403);
}

function showSignin(message = ""): void {
  window.clearTimeout(listTimer);
  panel?.destroy();
  panel = null;
  selected = null;
  dashboard.hidden = true;
  signinSection.hidden = false;
  signinError.textContent = message;
  tokenInput.value = "";
  tokenInput.focus();
}

function signOut(message = ""): void {
  clearSession();
  streams = [];
  listEl.replaceChildren();
  showSignin(message);
}

function handleError(err: unknown, show: (m: string) => void): void {
  if (isAuthError(err)) {
    signOut("The admin token was not accepted. Sign in again.");
    return;
  }
  show(err instanceof Error ? err.message : String(err));
}

function renderList(): void {
  listEl.replaceChildren(
    ...streams.map((s) => {
      const button = h(
        "button",
        { type: "button", class: "stream-item", "aria-current": s.id === selected ? "true" : false, "data-stream-id": s.id },
        h("span", { class: "stream-item-title" }, s.title || "Untitled stream"),
        h("span", { class: s.status === "live" ? "badge badge-live" : "badge" }, s.status === "live" ? "Live" : "Offline"),
      );
      button.addEventListener("click", () => select(s.id, true));
      return h("li", {}, button);
    }),
  );
  listEmpty.hidden = streams.length > 0;
}

function select(id: string | null, focus: boolean): void {
  if (id === selected && panel) {
    if (focus) panel.focus();
    return;
  }
  panel?.destroy();
  panel = null;
  selected = id;
  const stream = streams.find((s) => s.id === id);
  if (!stream) {
    selected = null;
    history.replaceState(null, "", location.pathname);
    renderList();
    return;
  }
  history.replaceState(null, "", `#${stream.id}`);
  panel = createStreamPanel(stream, {
    onStatus(streamId, status) {
      const s = streams.find((x) => x.id === streamId);
      if (s && s.status !== status) {
        s.status = status;
        renderList();
      }
    },
    onAuthError: () => signOut("The admin token was not accepted. Sign in again."),
    announce: (message) => announce(announcer, message),
    async onRevoke(streamId) {
      const token = getToken();
      if (!token) return signOut();
      try {
        await revokeStream(token, streamId);
      } catch (err) {
        if (isAuthError(err)) return signOut("The admin token was not accepted. Sign in again.");
        throw err;
      }
      const title = streams.find((x) => x.id === streamId)?.title || "The stream";
      forgetCredentials(streamId);
      streams = streams.filter((x) => x.id !== streamId);
      select(null, false);
      announce(announcer, `${title} was revoked.`);
      titleInput.focus();
    },
  });
  panelHost.append(panel.element);
  renderList();
  if (focus) panel.focus();
}

/** Fresh list data wins, except where it lacks what this tab already knows (a new stream's key and URLs). */
function merge(known: AdminStreamEntry | undefined, fresh: AdminStreamEntry): AdminStreamEntry {
  const out: AdminStreamEntry = { ...known, ...fresh };
  for (const k of ["hlsUrl", "dashUrl", "watchUrl", "rtmpUrl", "streamKey", "viewers", "record", "webhookUrl"] as const) {
    if (fresh[k] === undefined && known?.[k] !== undefined) Object.assign(out, { [k]: known[k] });
  }
  return out;
}

async function loadList(): Promise<void> {
  window.clearTimeout(listTimer);
  const token = getToken();
  if (!token) return showSignin();
  try {
    const fresh = await listStreams(token);
    // Keep what only this tab knows (a just-created stream's URLs) when the list entry lacks it.
    streams = fresh.map((s) => merge(streams.find((o) => o.id === s.id), s));
    renderList();
    if (selected && !streams.some((s) => s.id === selected)) select(null, false);
  } catch (err) {
    handleError(err, (m) => announce(announcer, `Could not refresh the stream list: ${m}`));
    if (isAuthError(err)) return;
  }
  listTimer = window.setTimeout(() => void loadList(), LIST_REFRESH_MS);
}

async function enterDashboard(): Promise<void> {
  signinSection.hidden = true;
  dashboard.hidden = false;
  await loadList();
  const fromHash = location.hash.slice(1);
  if (fromHash && streams.some((s) => s.id === fromHash)) select(fromHash, false);
}

signinForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) return;
  const submit = signinForm.querySelector("button");
  if (submit) submit.disabled = true;
  signinError.textContent = "";
  try {
    streams = await listStreams(token); // also checks the token
    setToken(token);
    tokenInput.value = "";
    await enterDashboard();
    announce(announcer, "Signed in.");
    titleInput.focus();
  } catch (err) {
    signinError.textContent = isAuthError(err)
      ? "That token was not accepted."
      : `Could not sign in: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    if (submit) submit.disabled = false;
  }
});

signoutButton.addEventListener("click", () => signOut("Signed out."));

createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = titleInput.value.trim();
  const token = getToken();
  if (!title || !token) return;
  const submit = createForm.querySelector("button");
  if (submit) submit.disabled = true;
  createError.textContent = "";
  try {
    const created = await createStream(token, title, { record: recordInput.checked });
    rememberCredentials(created.id, created.streamKey, created.rtmpUrl);
    streams = [
      {
        id: created.id,
        title: created.title,
        status: created.status,
        hlsUrl: created.hlsUrl,
        watchUrl: created.watchUrl,
        rtmpUrl: created.rtmpUrl,
        streamKey: created.streamKey,
        signedPlayback: created.signedPlayback,
        dashUrl: created.dashUrl,
        record: created.record ?? recordInput.checked,
      },
      ...streams.filter((s) => s.id !== created.id),
    ];
    titleInput.value = "";
    recordInput.checked = false;
    select(created.id, true);
    announce(announcer, `Created ${created.title}. Its server and stream key are below.`);
  } catch (err) {
    handleError(err, (m) => (createError.textContent = `Could not create the stream: ${m}`));
  } finally {
    if (submit) submit.disabled = false;
  }
});

if (getToken()) void enterDashboard();
else showSignin();
