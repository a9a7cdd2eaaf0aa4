/**
 * The browser end of a stream's chat room: a partysocket (reconnects by itself, with backoff) speaking the
 * protocol in durable-objects/protocol.ts. Every frame from the room is validated before anyone sees it.
 */
import PartySocket from "partysocket";
import {
  CLOSE_BANNED,
  CLOSE_UNKNOWN_STREAM,
  encode,
  RATE_LIMITS,
  serverMessageSchema,
  type ReactionName,
  type ServerMessage,
} from "../../../durable-objects/protocol";

const CLIENT_ID_KEY = "onair.chat.clientId";
const NICKNAME_KEY = "onair.chat.nickname";
// Half the room's limit, so a viewer hammering the button never earns rate-limit errors (or strikes).
const REACTION_MIN_INTERVAL_MS = (2 * RATE_LIMITS.reaction.perMs) / RATE_LIMITS.reaction.count;

export type ConnectionStatus = "connecting" | "open" | "closed";

export interface ChatHandlers {
  message(message: ServerMessage): void;
  status(status: ConnectionStatus): void;
}

/**
 * One id per browser, kept in localStorage so every tab of a viewer counts once in the viewer count. Where
 * storage is unavailable (some private modes) the id lives as long as the page.
 */
function clientId(): string {
  const stored = readStorage(CLIENT_ID_KEY);
  if (stored && /^[A-Za-z0-9_-]{16,64}$/.test(stored)) return stored;
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  writeStorage(CLIENT_ID_KEY, id);
  return id;
}

function savedNickname(): string | null {
  return readStorage(NICKNAME_KEY);
}

export class ChatClient {
  readonly clientId = clientId();
  private readonly socket: PartySocket;
  private nickname: string | null = savedNickname();
  private lastReactionAt = 0;

  constructor(
    streamId: string,
    private readonly handlers: ChatHandlers,
  ) {
    this.socket = new PartySocket({
      host: location.host,
      protocol: location.protocol === "https:" ? "wss" : "ws",
      basePath: `api/streams/${streamId}/chat`,
      query: { cid: this.clientId },
      // Nothing is queued while disconnected: a queued chat message would reach the room before the join.
      maxEnqueuedMessages: 0,
      shouldReconnectOnClose: (event) => event.code !== CLOSE_BANNED && event.code !== CLOSE_UNKNOWN_STREAM,
    });
    handlers.status("connecting");
    this.socket.addEventListener("open", () => {
      // Every (re)connection joins again and gets the history afresh, so nothing said while away is missed.
      this.send(this.nickname === null ? { type: "join" } : { type: "join", nickname: this.nickname });
      handlers.status("open");
    });
    this.socket.addEventListener("close", () => handlers.status(this.socket.shouldReconnect ? "connecting" : "closed"));
    this.socket.addEventListener("message", (event) => this.receive(event.data));
  }

  get hasNickname(): boolean {
    return this.nickname !== null;
  }

  setNickname(nickname: string): void {
    this.nickname = nickname;
    writeStorage(NICKNAME_KEY, nickname);
    this.send({ type: "join", nickname });
  }

  say(text: string): void {
    this.send({ type: "chat", text });
  }

  /** Returns false when the press was dropped to stay under the room's limit. */
  react(emoji: ReactionName): boolean {
    const now = performance.now();
    if (now - this.lastReactionAt < REACTION_MIN_INTERVAL_MS) return false;
    this.lastReactionAt = now;
    this.send({ type: "reaction", emoji });
    return true;
  }

  close(): void {
    this.socket.close();
  }

  private send(message: Parameters<typeof encode>[0]): void {
    this.socket.send(encode(message));
  }

  private receive(data: unknown): void {
    if (typeof data !== "string") return;
    let parsed: ReturnType<typeof serverMessageSchema.safeParse>;
    try {
      parsed = serverMessageSchema.safeParse(JSON.parse(data));
    } catch {
      return;
    }
    if (!parsed.success) {
      console.warn("chat: ignoring a frame that does not match the protocol", parsed.error.issues[0]);
      return;
    }
    this.handlers.message(parsed.data);
  }
}

function readStorage(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeStorage(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage disabled: the value lasts as long as the page.
  }
}
