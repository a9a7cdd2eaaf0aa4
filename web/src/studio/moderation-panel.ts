/**
 * Chat moderation for the selected stream. The studio joins the stream's chat room like the watch page
 * does (web/src/chat/client.ts: history on join, then every message live) to list recent messages, and
 * moderates over HTTP with the admin token (workers/routes/chat.ts): delete a message, ban its author
 * (and unban), slow mode. The room broadcasts each outcome, so the list follows other moderators too.
 */
import { HISTORY_SIZE, SLOW_MODE_MAX_SECONDS, userIdFor, type ChatMessage, type ServerMessage } from "../../../durable-objects/protocol";
import { ChatClient, type ConnectionStatus } from "../chat/client";
import { h, replaceChildren } from "../lib/dom";
import { banChatUser, deleteChatMessage, setSlowMode, unbanChatUser } from "./api";
import { act, errorLine, section, type PanelContext } from "./ui";

const MAX_ROWS = 200;
const DEFAULT_SLOW_SECONDS = 10;

export interface ModerationPanel {
  readonly element: HTMLElement;
  destroy(): void;
}

function shorten(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function createModerationPanel(ctx: PanelContext): ModerationPanel {
  const { streamId } = ctx;
  const connection = h("p", { class: "hint mod-connection", role: "status" }, "Connecting to the chat…");
  const error = errorLine();
  const log = h("ol", { class: "mod-log", "aria-label": "Recent chat messages" });
  const empty = h("p", { class: "hint mod-empty" }, "No messages yet.");
  const bannedList = h("ul", { class: "mod-banned", "aria-label": "Banned in this session" });
  const bannedBox = h("div", { class: "mod-banned-box", hidden: true }, h("h4", {}, "Banned"), bannedList);

  // Slow mode: the checkbox applies at once; the seconds apply with Enter or the Apply button.
  const slowBox = h("input", { type: "checkbox", id: `slow-${streamId}` });
  const slowSeconds = h("input", {
    type: "number",
    id: `slow-seconds-${streamId}`,
    class: "num-input",
    min: 1,
    max: SLOW_MODE_MAX_SECONDS,
    step: 1,
    value: DEFAULT_SLOW_SECONDS,
    inputmode: "numeric",
  });
  const slowApply = h("button", { type: "submit", class: "btn btn-small" }, "Apply");
  const slowForm = h(
    "form",
    { class: "slow-form", "aria-label": "Chat slow mode" },
    h("div", { class: "check-row" }, slowBox, h("label", { for: slowBox.id }, "Slow mode")),
    h("div", { class: "slow-row" }, h("label", { for: slowSeconds.id, class: "slow-seconds-label" }, "Seconds between messages"), slowSeconds, slowApply),
  );

  const element = section(
    "moderation",
    streamId,
    "Chat moderation",
    connection,
    slowForm,
    log,
    empty,
    bannedBox,
    error,
  );

  const nicknames = new Map<string, string>(); // userId -> last nickname seen
  const banned = new Set<string>();
  let myUserId: string | null = null;
  let roomSlow = 0;

  function nameOf(userId: string): string {
    return nicknames.get(userId) ?? `user ${userId}`;
  }

  function rowFor(message: ChatMessage): HTMLLIElement {
    nicknames.set(message.userId, message.nickname);
    const time = new Date(message.ts);
    const del = h(
      "button",
      { type: "button", class: "btn btn-small", "aria-label": `Delete message from ${message.nickname}: ${shorten(message.text)}` },
      "Delete",
    );
    del.addEventListener("click", async () => {
      del.disabled = true;
      const ok = await act(ctx, error, "Could not delete the message", (token) => deleteChatMessage(token, streamId, message.id));
      if (ok) {
        removeRow(message.id, true);
        ctx.announce(`Deleted the message from ${message.nickname}.`);
      } else {
        del.disabled = false;
      }
    });
    const ban = h(
      "button",
      { type: "button", class: "btn btn-small btn-danger", "aria-label": `Ban ${message.nickname} (user ${message.userId})`, "data-ban": message.userId },
      "Ban",
    );
    ban.addEventListener("click", () => void banUser(message.userId, ban));
    const own = message.userId === myUserId;
    const li = h(
      "li",
      { class: "mod-row", "data-id": message.id, "data-user": message.userId },
      h(
        "div",
        { class: "mod-line" },
        h("time", { class: "mod-time", datetime: time.toISOString() }, time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
        " ",
        h("bdi", { class: "chat-nick" }, message.nickname),
        " ",
        h("bdi", { class: "mod-text" }, message.text),
      ),
      h("div", { class: "mod-actions" }, del, own ? null : ban),
    );
    if (banned.has(message.userId)) li.classList.add("mod-banned-user");
    return li;
  }

  function removeRow(id: number, moveFocus: boolean): void {
    const li = log.querySelector<HTMLElement>(`li[data-id="${id}"]`);
    if (!li) return;
    const hadFocus = moveFocus || li.contains(document.activeElement);
    const next = (li.nextElementSibling ?? li.previousElementSibling) as HTMLElement | null;
    li.remove();
    updateEmpty();
    if (hadFocus) (next?.querySelector<HTMLButtonElement>("button") ?? slowBox).focus();
  }

  function updateEmpty(): void {
    empty.hidden = log.childElementCount > 0;
  }

  async function banUser(userId: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    const ok = await act(ctx, error, `Could not ban ${nameOf(userId)}`, (token) => banChatUser(token, streamId, userId));
    button.disabled = false;
    if (!ok) return;
    markBanned(userId, true);
    ctx.announce(`Banned ${nameOf(userId)}. Unban them under Banned.`);
  }

  function markBanned(userId: string, isBanned: boolean): void {
    if (isBanned) banned.add(userId);
    else banned.delete(userId);
    for (const li of log.querySelectorAll<HTMLElement>(`li[data-user="${userId}"]`)) li.classList.toggle("mod-banned-user", isBanned);
    for (const b of log.querySelectorAll<HTMLButtonElement>(`button[data-ban="${userId}"]`)) b.hidden = isBanned;
    renderBanned();
  }

  function renderBanned(): void {
    replaceChildren(
      bannedList,
      ...[...banned].map((userId) => {
        const unban = h("button", { type: "button", class: "btn btn-small", "aria-label": `Unban ${nameOf(userId)}` }, "Unban");
        unban.addEventListener("click", async () => {
          unban.disabled = true;
          const ok = await act(ctx, error, `Could not unban ${nameOf(userId)}`, (token) => unbanChatUser(token, streamId, userId));
          unban.disabled = false;
          if (!ok) return;
          ctx.announce(`Unbanned ${nameOf(userId)}.`);
          markBanned(userId, false);
          slowBox.focus();
        });
        return h("li", {}, h("bdi", {}, nameOf(userId)), " ", unban);
      }),
    );
    bannedBox.hidden = banned.size === 0;
  }

  function showSlowMode(seconds: number): void {
    roomSlow = seconds;
    slowBox.checked = seconds > 0;
    // Don't overwrite a number the streamer is typing.
    if (seconds > 0 && document.activeElement !== slowSeconds) slowSeconds.value = String(seconds);
  }

  async function applySlowMode(seconds: number): Promise<void> {
    slowBox.disabled = slowApply.disabled = true;
    let applied = roomSlow;
    const ok = await act(ctx, error, "Could not change slow mode", async (token) => {
      applied = await setSlowMode(token, streamId, seconds);
    });
    slowBox.disabled = slowApply.disabled = false;
    showSlowMode(ok ? applied : roomSlow);
    if (ok) ctx.announce(applied > 0 ? `Slow mode on: one message every ${applied} s.` : "Slow mode off.");
  }

  function wantedSeconds(): number | null {
    const n = Number(slowSeconds.value);
    if (!Number.isInteger(n) || n < 1 || n > SLOW_MODE_MAX_SECONDS) {
      error.textContent = `Slow mode: enter whole seconds from 1 to ${SLOW_MODE_MAX_SECONDS}.`;
      slowSeconds.focus();
      return null;
    }
    return n;
  }

  slowBox.addEventListener("change", () => {
    if (!slowBox.checked) return void applySlowMode(0);
    const n = wantedSeconds();
    if (n === null) slowBox.checked = false;
    else void applySlowMode(n);
  });
  slowForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const n = wantedSeconds();
    if (n !== null) void applySlowMode(n);
  });

  function onMessage(message: ServerMessage): void {
    switch (message.type) {
      case "history":
        replaceChildren(log, ...message.messages.slice(-HISTORY_SIZE).map(rowFor));
        break;
      case "chat":
        log.append(...message.messages.map(rowFor));
        while (log.childElementCount > MAX_ROWS) log.firstElementChild?.remove();
        break;
      case "message_deleted":
        removeRow(message.id, false);
        break;
      case "user_banned":
        markBanned(message.userId, true);
        break;
      case "user_unbanned":
        markBanned(message.userId, false);
        break;
      case "slow_mode":
        showSlowMode(message.seconds);
        break;
      default:
        return;
    }
    updateEmpty();
  }

  function onStatus(status: ConnectionStatus): void {
    connection.textContent =
      status === "open"
        ? "Connected: new messages appear here as they are sent."
        : status === "connecting"
          ? "Connecting to the chat…"
          : "The chat connection closed. Select the stream again to reconnect.";
  }

  const client = new ChatClient(streamId, { message: onMessage, status: onStatus });
  void userIdFor(client.clientId).then((id) => {
    myUserId = id;
    // No banning yourself: it would also close this studio's connection to the room.
    for (const b of log.querySelectorAll<HTMLButtonElement>(`button[data-ban="${id}"]`)) b.remove();
  });
  updateEmpty();

  return {
    element,
    destroy: () => client.close(),
  };
}
