/**
 * The chat panel on the watch page: message log, viewer count, reaction buttons with floating emoji, a
 * nickname prompt and the message box. Everything a viewer sent is inserted as text (textContent via
 * lib/dom), inside <bdi> so right-to-left names or text cannot reorder the line around them.
 */
import { h, replaceChildren } from "../lib/dom";
import {
  CHAT_MAX_LENGTH,
  NICKNAME_MAX_LENGTH,
  REACTION_NAMES,
  REACTIONS,
  userIdFor,
  type ChatMessage,
  type ReactionName,
  type ServerMessage,
} from "../../../durable-objects/protocol";
import { ChatClient, type ConnectionStatus } from "./client";
import { ensureChatStyles } from "./styles";

/** Older messages leave the page: the room keeps history, the DOM does not need to. */
const MAX_RENDERED_MESSAGES = 200;
const MAX_FLOATS_PER_BROADCAST = 8;
const MAX_FLOATS_ON_SCREEN = 40;
const NOTICE_MS = 4_000;
const NEAR_BOTTOM_PX = 48;

const FRIENDLY_ERRORS: Partial<Record<string, string>> = {
  rate_limited: "You're sending messages too fast. Wait a moment.",
  banned: "A moderator removed you from this chat.",
  unknown_stream: "This stream has no chat.",
  nickname_required: "Pick a name first.",
};

export function mountChat(container: HTMLElement, streamId: string): ChatClient {
  ensureChatStyles();
  const viewers = h("span", { class: "chat-viewers" });
  const status = h("p", { class: "chat-status", role: "status" });
  const log = h("ol", { class: "chat-log", role: "log", "aria-live": "polite", "aria-label": "Chat messages" });
  const floats = h("div", { class: "chat-floats", "aria-hidden": "true" });
  const notice = h("p", { class: "chat-notice", role: "status" });
  const slowMode = h("p", { class: "chat-slow", hidden: true });
  const form = h("form", { class: "chat-form" });
  const reactionBar = h("div", { class: "chat-reactions", role: "group", "aria-label": "Send a reaction" });

  let myUserId: string | null = null;
  let noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** own reactions not yet echoed by the room, which already floated when clicked */
  const ownPending = new Map<ReactionName, number>();
  const reduceMotion = matchMedia("(prefers-reduced-motion: reduce)");

  const client = new ChatClient(streamId, { message: onMessage, status: onStatus });
  void userIdFor(client.clientId).then((id) => {
    myUserId = id;
    for (const li of log.querySelectorAll<HTMLElement>(`li[data-user="${id}"]`)) li.classList.add("chat-own");
  });

  for (const name of REACTION_NAMES) {
    const button = h("button", { type: "button", class: "btn chat-reaction", "aria-label": name, title: name }, REACTIONS[name]);
    button.addEventListener("click", () => {
      if (!client.react(name)) return;
      ownPending.set(name, (ownPending.get(name) ?? 0) + 1);
      float(name);
    });
    reactionBar.append(button);
  }

  replaceChildren(
    container,
    h("div", { class: "chat" }, h("header", { class: "chat-header" }, h("h2", {}, "Chat"), viewers), status, log, floats, reactionBar, slowMode, notice, form),
  );
  renderForm();
  onStatus("connecting");

  function onMessage(message: ServerMessage): void {
    switch (message.type) {
      case "history":
        replaceChildren(log, ...message.messages.map(renderMessage));
        scrollToEnd(true);
        return;
      case "chat": {
        const stick = nearBottom();
        log.append(...message.messages.map(renderMessage));
        while (log.childElementCount > MAX_RENDERED_MESSAGES) log.firstElementChild?.remove();
        scrollToEnd(stick);
        return;
      }
      case "reactions":
        for (const name of REACTION_NAMES) {
          const others = (message.counts[name] ?? 0) - (ownPending.get(name) ?? 0);
          for (let i = 0; i < Math.min(others, MAX_FLOATS_PER_BROADCAST); i++) setTimeout(() => float(name), Math.random() * message.windowMs);
        }
        ownPending.clear();
        return;
      case "presence":
        viewers.textContent = `${new Intl.NumberFormat().format(message.viewers)} watching`;
        return;
      case "message_deleted":
        log.querySelector(`li[data-id="${message.id}"]`)?.remove();
        return;
      case "slow_mode":
        slowMode.hidden = message.seconds === 0;
        slowMode.textContent = `Slow mode: one message every ${message.seconds} s`;
        return;
      case "error":
        if (message.code === "slow_mode" && message.retryAfterMs !== undefined) {
          showNotice(`Slow mode: you can send again in ${Math.ceil(message.retryAfterMs / 1000)} s.`);
        } else {
          showNotice(FRIENDLY_ERRORS[message.code] ?? message.message);
        }
        return;
      case "user_banned":
      case "user_unbanned":
        return;
    }
  }

  function onStatus(next: ConnectionStatus): void {
    status.hidden = next === "open";
    status.textContent = next === "connecting" ? "Connecting to chat…" : "Chat is closed.";
    for (const control of form.querySelectorAll<HTMLInputElement | HTMLButtonElement>("input, button")) control.disabled = next !== "open";
    for (const button of reactionBar.querySelectorAll("button")) button.disabled = next !== "open";
  }

  function renderMessage(message: ChatMessage): HTMLLIElement {
    const li = h(
      "li",
      { "data-id": message.id, "data-user": message.userId, title: new Date(message.ts).toLocaleTimeString() },
      h("bdi", { class: "chat-nick" }, message.nickname),
      " ",
      h("bdi", { class: "chat-text" }, message.text),
    );
    if (message.userId === myUserId) li.classList.add("chat-own");
    return li;
  }

  function renderForm(): void {
    const joined = client.hasNickname;
    const input = joined
      ? h("input", { type: "text", name: "text", maxlength: CHAT_MAX_LENGTH, placeholder: "Say something…", autocomplete: "off", "aria-label": "Message" })
      : h("input", { type: "text", name: "nickname", maxlength: NICKNAME_MAX_LENGTH, placeholder: "Your name", autocomplete: "nickname", "aria-label": "Your name" });
    replaceChildren(form, input, h("button", { type: "submit", class: "btn btn-primary" }, joined ? "Send" : "Join chat"));
    form.onsubmit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      if (joined) {
        client.say(value);
        input.value = "";
      } else {
        client.setNickname(value);
        renderForm();
      }
    };
  }

  function showNotice(text: string): void {
    notice.textContent = text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => (notice.textContent = ""), NOTICE_MS);
  }

  function float(name: ReactionName): void {
    if (reduceMotion.matches || floats.childElementCount >= MAX_FLOATS_ON_SCREEN) return;
    const el = h("span", { class: "chat-float", style: `left: ${5 + Math.random() * 80}%` }, REACTIONS[name]);
    el.addEventListener("animationend", () => el.remove());
    floats.append(el);
  }

  function nearBottom(): boolean {
    return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToEnd(stick: boolean): void {
    if (stick) log.scrollTop = log.scrollHeight;
  }

  return client;
}
