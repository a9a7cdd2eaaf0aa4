import type { Connection } from "partyserver";
import { RATE_LIMITS } from "../protocol";
import { SlidingWindowLimiter } from "./rate-limit";

/** What survives hibernation, in the socket's attachment: kept small because it is copied on every write. */
export interface MemberState {
  userId: string;
  nickname: string | null;
  /** joined sockets receive the room's broadcasts; the others are still handshaking */
  joined: boolean;
}

/** Malformed frames and rate-limit breaches allowed per connection before the room closes it. */
const ABUSE_LIMIT = { count: 10, perMs: 60_000 } as const;

export interface Member {
  socket: Connection<MemberState>;
  state: MemberState;
  // Limits live in memory only: an object hibernates after about 10 s without events, longer than the chat
  // window, so waking with fresh limiters forgives nothing a client could not have sent anyway.
  chatLimit: SlidingWindowLimiter;
  reactionLimit: SlidingWindowLimiter;
  abuseLimit: SlidingWindowLimiter;
}

/**
 * The room's connections, in memory, rebuilt from the sockets' attachments when the object wakes.
 * Fan-out walks this map with one pre-serialized string instead of using partyserver's broadcast(), which
 * in 0.5.10 deserializes every socket's attachment on every call (see docs in chat-room.ts).
 */
export class Members {
  private readonly byConnection = new Map<string, Member>();
  private readonly socketsPerUser = new Map<string, number>();

  add(socket: Connection<MemberState>, state: MemberState): Member {
    const member: Member = {
      socket,
      state,
      chatLimit: new SlidingWindowLimiter(RATE_LIMITS.chat.count, RATE_LIMITS.chat.perMs),
      reactionLimit: new SlidingWindowLimiter(RATE_LIMITS.reaction.count, RATE_LIMITS.reaction.perMs),
      abuseLimit: new SlidingWindowLimiter(ABUSE_LIMIT.count, ABUSE_LIMIT.perMs),
    };
    this.byConnection.set(socket.id, member);
    this.socketsPerUser.set(state.userId, (this.socketsPerUser.get(state.userId) ?? 0) + 1);
    return member;
  }

  get(connectionId: string): Member | undefined {
    return this.byConnection.get(connectionId);
  }

  remove(connectionId: string): void {
    const member = this.byConnection.get(connectionId);
    if (!member) return;
    this.byConnection.delete(connectionId);
    const left = (this.socketsPerUser.get(member.state.userId) ?? 1) - 1;
    if (left > 0) this.socketsPerUser.set(member.state.userId, left);
    else this.socketsPerUser.delete(member.state.userId);
  }

  /** Distinct viewers: a viewer with five tabs open counts once. */
  get viewers(): number {
    return this.socketsPerUser.size;
  }

  ofUser(userId: string): Member[] {
    return [...this.byConnection.values()].filter((m) => m.state.userId === userId);
  }

  broadcast(frame: string): void {
    for (const member of this.byConnection.values()) {
      if (!member.state.joined) continue;
      try {
        member.socket.send(frame);
      } catch {
        // The socket is already closing; its close event removes it from the map.
      }
    }
  }
}
