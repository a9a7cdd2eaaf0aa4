import { encode, serverMessageSchema, type ChatMessage, type ClientMessage, type ServerMessage } from "../../durable-objects/protocol";

/** How long a message may take: seconds when workerd shares a loaded 2-core machine with ffmpeg and Chromium. */
const WAIT_MS = 15_000;

type Of<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;

/**
 * The test side of one chat connection, independent of the WebSocket implementation (workerd's in the
 * workers tests, `ws` in the end-to-end tests): wire its message and close events to `frame` and
 * `closed`. Every frame is validated against the protocol, so a malformed server frame fails the test.
 */
export class ChatProbe {
  readonly received: ServerMessage[] = [];
  /** the frames as sent, for asserting what is not on the wire (validation drops unknown fields) */
  readonly raw: string[] = [];
  private readonly consumed = new Map<string, number>();
  private chatsConsumed = 0;
  private closeEvent: { code: number; reason: string } | null = null;
  private wake: (() => void)[] = [];

  constructor(private readonly sendFrame: (frame: string) => void) {}

  frame(data: unknown): void {
    if (typeof data !== "string") throw new Error(`the room sent a non-text frame: ${String(data)}`);
    this.raw.push(data);
    this.received.push(serverMessageSchema.parse(JSON.parse(data)));
    this.notify();
  }

  closed(code: number, reason: string): void {
    this.closeEvent = { code, reason };
    this.notify();
  }

  send(message: ClientMessage | string): void {
    this.sendFrame(typeof message === "string" ? message : encode(message));
  }

  all<T extends ServerMessage["type"]>(type: T): Of<T>[] {
    return this.received.filter((m): m is Of<T> => m.type === type);
  }

  /** Every chat message received so far, unpacked from the room's batched `chat` frames. */
  chats(): ChatMessage[] {
    return this.all("chat").flatMap((frame) => frame.messages);
  }

  /** The next chat message not returned before, whichever frame it came in. */
  async nextChat(timeoutMs = WAIT_MS): Promise<ChatMessage> {
    return this.until("a chat message", timeoutMs, () => {
      const message = this.chats()[this.chatsConsumed];
      if (message) this.chatsConsumed += 1;
      return message;
    });
  }

  /** The next message of this type not returned before, waiting for it if it has not arrived yet. */
  async next<T extends ServerMessage["type"]>(type: T, timeoutMs = WAIT_MS): Promise<Of<T>> {
    return this.until(`a ${type} message`, timeoutMs, () => {
      const index = this.consumed.get(type) ?? 0;
      const message = this.all(type)[index];
      if (message) this.consumed.set(type, index + 1);
      return message;
    });
  }

  async waitForClose(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string }> {
    return this.until("the socket to close", timeoutMs, () => this.closeEvent ?? undefined);
  }

  /** Resolves with probe()'s first defined answer, re-asked whenever a frame or close arrives. */
  async until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.received.map((m) => m.type).join(", ") || "nothing";
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received: ${seen}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
  }
}

let counter = 0;
/** A fresh client id per call: every probe is a distinct viewer unless a test reuses one on purpose. */
export function newClientId(): string {
  counter += 1;
  return `test-client-${Date.now().toString(36)}-${counter}`.padEnd(16, "x");
}
