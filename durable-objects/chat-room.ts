import { Server, type Connection, type ConnectionContext, type WSMessage } from "partyserver";
import { registryStub, type Env } from "../workers/env";
import {
  CHAT_BATCH_MS,
  CLIENT_ID_PATTERN,
  CLOSE_ABUSE,
  CLOSE_BANNED,
  CLOSE_UNKNOWN_STREAM,
  encode,
  HISTORY_SIZE,
  PRESENCE_INTERVAL_MS,
  userIdFor,
  type ChatMessage,
  type ErrorCode,
  type ParsedClientMessage,
} from "./protocol";
import { Members, type Member, type MemberState } from "./chat/members";
import { parseClientFrame } from "./chat/parse";
import { ReactionAggregator } from "./chat/reactions";
import { ChatStore } from "./chat/store";
import { Throttle } from "./chat/throttle";

/** A connect storm (a page load, a reconnect after a deploy) becomes one presence update. */
const PRESENCE_COALESCE_MS = 200;
/** Set by the room itself on the request it hands to partyserver, never taken from the client. */
const USER_ID_HEADER = "x-onair-user-id";

type ChatConnection = Connection<MemberState>;
type Of<T extends ParsedClientMessage["type"]> = Extract<ParsedClientMessage, { type: T }>;

/**
 * One chat room per stream, named by the stream id. Hibernating WebSockets (the object leaves memory
 * between messages, the sockets stay open) and SQLite storage for history, bans and settings.
 *
 * Fan-out: every broadcast is one string, serialized once, sent by walking an in-memory map of joined
 * sockets (chat/members.ts), rebuilt from the sockets' attachments once per wake, in the constructor.
 * partyserver's own broadcast() is not used: in 0.5.10 its hibernating iterator deserializes every
 * socket's attachment on every call to check the socket is its own, O(viewers) work per broadcast on top
 * of the sends, and it would also reach sockets that have not joined. (bench:chat, 1,000 viewers: the
 * same latency either way at 20 broadcasts a second, 8 points more of a core with broadcast(); the field
 * notes saw it collapse, p99 2.5 s, at 50 a second.)
 *
 * The room's cost is per outgoing frame (about 17 µs each in workerd), so chat is batched like reactions,
 * only shorter: a message goes out at once when the room is quiet, and messages that arrive within
 * CHAT_BATCH_MS of the last broadcast share the next frame. A busy room then sends at most 20 chat frames
 * a second to each viewer whatever the message rate, at the price of up to 50 ms of added delay.
 *
 * (bench:chat, 1,000 viewers at 50 messages a second: the room used 52% of a core instead of 95%, and
 * the wrangler proxy 20% instead of 38%, for p99 78 ms instead of 73 ms on an idle machine.)
 *
 * A batch is broadcast first and written to storage just after. Writing first holds the broadcast behind
 * the output gate until the write is durable (locally an fsync: p99 about 170 ms instead of 80 ms in
 * bench:chat); this way a batch waits only for writes older than itself, which have had the batch
 * interval to complete. The price: if the object dies in the few milliseconds between, viewers saw
 * messages that history will not have.
 *
 * Moderation arrives as RPC from the Worker, which has already checked the owner's token.
 */
export class ChatRoom extends Server<Env> {
  static options = { hibernate: true };

  private readonly members = new Members();
  private readonly reactions = new ReactionAggregator((frame) => this.members.broadcast(frame));
  private readonly presence = new Throttle(() => this.publishPresence(), PRESENCE_INTERVAL_MS, PRESENCE_COALESCE_MS);
  private readonly chatBatch = new Throttle(() => this.flushChat(), CHAT_BATCH_MS, 0);
  /** accepted, neither broadcast nor stored yet: a joining client gets them in the next batch */
  private pendingChat: ChatMessage[] = [];
  private publishedViewers = -1;
  private historyFrame: string | null = null;
  private storeInstance: ChatStore | null = null;
  // Per wake, not persisted: a revoked stream stops admitting viewers once its room has slept, and an id
  // probed before its stream existed is asked again once the room has slept.
  private streamKnown: boolean | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    for (const socket of this.getConnections<MemberState>()) {
      if (socket.state) this.members.add(socket, { ...socket.state });
    }
  }

  /** Opened on first use, so a request for a stream that does not exist leaves no storage behind. */
  private get store(): ChatStore {
    this.storeInstance ??= new ChatStore(this.ctx.storage.sql);
    return this.storeInstance;
  }

  /**
   * Admission, before partyserver sees the request (it writes to storage on its first request): the
   * client id is checked, the stream must exist and the viewer must not be banned. A refused client gets
   * a socket that carries one error frame and a close code that tells partysocket not to retry.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("this room only speaks WebSocket", { status: 426 });
    }
    const url = new URL(request.url);
    const clientId = url.searchParams.get("cid");
    if (!clientId || !CLIENT_ID_PATTERN.test(clientId)) {
      return refusal("invalid_client_id", "connect with ?cid=<16-64 characters of A-Z a-z 0-9 _ ->", CLOSE_ABUSE);
    }
    if (!(await this.streamExists())) return refusal("unknown_stream", "there is no stream with this id", CLOSE_UNKNOWN_STREAM);
    const userId = await userIdFor(clientId);
    if (this.store.isBanned(userId)) return refusal("banned", "you are banned from this chat", CLOSE_BANNED);
    // partyserver takes the connection id from `_pk`, and members are keyed by it: a client must not be
    // able to pick one that collides with someone else's. Without it, partyserver generates a random id.
    url.searchParams.delete("_pk");
    const admitted = new Request(url, request);
    admitted.headers.set(USER_ID_HEADER, userId);
    return super.fetch(admitted);
  }

  override onConnect(connection: ChatConnection, { request }: ConnectionContext): void {
    const state: MemberState = { userId: request.headers.get(USER_ID_HEADER)!, nickname: null, joined: false };
    connection.setState(state);
    this.members.add(connection, state);
    this.presence.request();
  }

  override onMessage(connection: ChatConnection, frame: WSMessage): void {
    const member = this.members.get(connection.id);
    if (!member) return;
    const parsed = parseClientFrame(frame);
    if (!parsed.ok) return this.strike(member, parsed.code, parsed.message);
    const message = parsed.message;
    switch (message.type) {
      case "join":
        return this.join(member, message);
      case "chat":
        return this.chat(member, message);
      case "reaction":
        return this.react(member, message);
    }
  }

  override onClose(connection: ChatConnection): void {
    this.leave(connection);
  }

  override onError(connection: ChatConnection): void {
    this.leave(connection);
  }

  // ---- RPC from the Worker ----

  viewerCount(): number {
    return this.members.viewers;
  }

  deleteMessage(id: number): boolean {
    const pending = this.pendingChat.length;
    this.pendingChat = this.pendingChat.filter((m) => m.id !== id);
    if (!this.store.delete(id) && this.pendingChat.length === pending) return false;
    this.historyFrame = null;
    this.members.broadcast(encode({ type: "message_deleted", id }));
    return true;
  }

  banUser(userId: string): void {
    this.store.ban(userId, Date.now());
    for (const member of this.members.ofUser(userId)) {
      refuse(member.socket, "banned", "a moderator banned you from this chat", CLOSE_BANNED);
      this.members.remove(member.socket.id);
    }
    this.members.broadcast(encode({ type: "user_banned", userId }));
    this.presence.request();
  }

  unbanUser(userId: string): boolean {
    if (!this.store.unban(userId)) return false;
    this.members.broadcast(encode({ type: "user_unbanned", userId }));
    return true;
  }

  setSlowMode(seconds: number): void {
    this.store.slowModeSeconds = seconds;
    this.members.broadcast(encode({ type: "slow_mode", seconds }));
  }

  // ---- message handlers ----

  private join(member: Member, message: Of<"join">): void {
    const first = !member.state.joined;
    if (message.nickname !== undefined) member.state.nickname = message.nickname;
    member.state.joined = true;
    member.socket.setState(member.state);
    if (!first) return;
    // Sent before any live frame can reach this socket, so the client never sees a gap or a duplicate.
    this.historyFrame ??= encode({ type: "history", messages: this.store.recent(HISTORY_SIZE) });
    member.socket.send(this.historyFrame);
    member.socket.send(encode({ type: "presence", viewers: this.members.viewers }));
    member.socket.send(encode({ type: "slow_mode", seconds: this.store.slowModeSeconds }));
  }

  private chat(member: Member, message: Of<"chat">): void {
    if (!member.state.joined) return this.strike(member, "not_joined", "send join first");
    const nickname = member.state.nickname;
    if (nickname === null) return this.strike(member, "nickname_required", "send join with a nickname before chatting");
    const now = Date.now();
    const wait = member.chatLimit.take(now);
    if (wait > 0) return this.strike(member, "rate_limited", "too many messages; wait a moment", wait);
    const slowMode = this.store.slowModeSeconds;
    if (slowMode > 0) {
      let last = this.store.lastPostAt(member.state.userId);
      for (const m of this.pendingChat) if (m.userId === member.state.userId) last = m.ts;
      const retryAfterMs = last === null ? 0 : last + slowMode * 1000 - now;
      if (retryAfterMs > 0) return sendError(member.socket, "slow_mode", `slow mode: one message every ${slowMode} s`, retryAfterMs);
    }
    this.pendingChat.push({ id: this.store.allocateId(), userId: member.state.userId, nickname, text: message.text, ts: now });
    this.chatBatch.request();
  }

  private flushChat(): void {
    if (this.pendingChat.length === 0) return;
    const messages = this.pendingChat;
    this.pendingChat = [];
    this.historyFrame = null;
    this.members.broadcast(encode({ type: "chat", messages }));
    this.store.appendAll(messages);
  }

  private react(member: Member, message: Of<"reaction">): void {
    if (!member.state.joined) return this.strike(member, "not_joined", "send join first");
    const wait = member.reactionLimit.take(Date.now());
    if (wait > 0) return this.strike(member, "rate_limited", "too many reactions; slow down", wait);
    this.reactions.add(message.emoji);
  }

  /** Every bad frame or rate-limit breach is answered; too many of them in a minute close the connection. */
  private strike(member: Member, code: ErrorCode, message: string, retryAfterMs?: number): void {
    sendError(member.socket, code, message, retryAfterMs);
    if (member.abuseLimit.take(Date.now()) > 0) {
      member.socket.close(CLOSE_ABUSE, "too many invalid or rate-limited messages");
      this.leave(member.socket);
    }
  }

  private leave(connection: ChatConnection): void {
    this.members.remove(connection.id);
    this.presence.request();
  }

  private publishPresence(): void {
    const viewers = this.members.viewers;
    if (viewers === this.publishedViewers) return;
    this.publishedViewers = viewers;
    this.members.broadcast(encode({ type: "presence", viewers }));
  }

  /** Rooms exist only for registered streams; the registry is asked once per wake, not once per viewer. */
  private async streamExists(): Promise<boolean> {
    if (this.streamKnown === undefined) {
      const record = await registryStub(this.env).getStream(this.name);
      this.streamKnown = record !== null && !record.revoked;
    }
    return this.streamKnown;
  }
}

function sendError(socket: WebSocket, code: ErrorCode, message: string, retryAfterMs?: number): void {
  socket.send(encode({ type: "error", code, message, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }));
}

function refuse(socket: WebSocket, code: ErrorCode, message: string, closeCode: number): void {
  sendError(socket, code, message);
  socket.close(closeCode, code);
}

function refusal(code: ErrorCode, message: string, closeCode: number): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  refuse(server, code, message, closeCode);
  return new Response(null, { status: 101, webSocket: client });
}
