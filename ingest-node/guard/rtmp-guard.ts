import type { Server, Socket } from "node:net";
import type { NmsSession } from "node-media-server";
import type { Logger } from "../logger";

/**
 * Bounds what an RTMP connection can make node-media-server do before it is a known publisher or our own
 * player. NMS 4.4.3 allocates whatever message length a chunk header declares (16 MB each, per chunk
 * stream), loops forever on a chunk size of 0, and closes no idle or trickling connection: 200 hostile
 * connections took one process to 7.5 GB (field notes). So, per connection: at most maxPerAddress open
 * from one address; RTMP version 3 or closed; publish or play within setupTimeoutMs; at most
 * setupBudgetBytes before that; every message at most maxMessageBytes (small until established); at
 * most maxChunkStreams chunk streams; chunk sizes 1..maxChunkSize. A violation destroys the socket
 * before NMS parses further, and is counted.
 */
export interface GuardLimits {
  maxPerAddress: number;
  setupTimeoutMs: number;
  setupBudgetBytes: number;
  /** until established: connect, createStream and publish/play commands are a few hundred bytes */
  maxSetupMessageBytes: number;
  /** once established: a keyframe of a high-bitrate source */
  maxMessageBytes: number;
  maxChunkStreams: number;
  maxChunkSize: number;
}

export const DEFAULT_GUARD_LIMITS: GuardLimits = {
  maxPerAddress: 20,
  setupTimeoutMs: 10_000,
  // The handshake (3,073 bytes) and a client's connect, createStream and publish or play (about 1 KB).
  setupBudgetBytes: 16 * 1024,
  maxSetupMessageBytes: 4 * 1024,
  maxMessageBytes: 8 * 1024 * 1024,
  maxChunkStreams: 16,
  maxChunkSize: 64 * 1024,
};

/** The part of NMS's RTMP parser (protocol/rtmp.js) the guard wraps, per connection. */
interface NmsRtmpParser {
  handshakeState: number;
  inChunkSize: number;
  inPackets: Map<number, unknown>;
  parserPacket: { header: { length: number } };
  parserData(buffer: Buffer): string | null;
  packetAlloc(): void;
  controlHandler(): void;
  /** an FLV parser NMS gives every RTMP connection and never uses for RTMP input; it starts with 1 MB */
  flv: { parserTagData: Buffer; parserTagCapacity: number };
}

class Violation extends Error {}

export class RtmpGuard {
  private readonly perAddress = new Map<string, number>();
  private readonly established = new WeakSet<Socket>();
  /** connections closed by the guard, by reason */
  readonly closed = new Map<string, number>();
  private readonly limits: GuardLimits;

  constructor(
    limits: Partial<GuardLimits>,
    private readonly logger: Logger,
  ) {
    this.limits = { ...DEFAULT_GUARD_LIMITS, ...limits };
  }

  /** Puts the guard in front of NMS's connection handler; sessions() is NMS's open sessions, newest last. */
  install(tcp: Server, handleRequest: (socket: Socket) => void, sessions: () => Iterable<NmsSession>): void {
    tcp.removeListener("connection", handleRequest);
    tcp.on("connection", (socket: Socket) => {
      const address = socket.remoteAddress ?? "";
      const open = (this.perAddress.get(address) ?? 0) + 1;
      if (open > this.limits.maxPerAddress) return this.reject(socket, "too many connections from one address");
      this.perAddress.set(address, open);
      socket.once("close", () => {
        const left = (this.perAddress.get(address) ?? 1) - 1;
        if (left > 0) this.perAddress.set(address, left);
        else this.perAddress.delete(address);
      });
      handleRequest(socket);
      let session: NmsSession | undefined;
      for (const s of sessions()) session = s;
      if (session?.socket !== socket) return this.reject(socket, "node-media-server did not open a session");
      this.watch(socket, session.rtmp as unknown as NmsRtmpParser);
    });
  }

  /** A publisher admitted or our own player: it may now send media-sized messages. */
  establish(session: NmsSession): void {
    this.established.add(session.socket);
  }

  private watch(socket: Socket, rtmp: NmsRtmpParser): void {
    const limits = this.limits;
    // 1 MB per connection, idle or not, is what 1,000 idle connections cost most; it grows on demand.
    rtmp.flv.parserTagData = Buffer.alloc(0);
    rtmp.flv.parserTagCapacity = 0;
    const deadline = setTimeout(() => {
      if (!this.established.has(socket)) this.reject(socket, "no publish or play in time");
    }, limits.setupTimeoutMs);
    deadline.unref();
    socket.once("close", () => clearTimeout(deadline));
    let received = 0;

    const parse = rtmp.parserData.bind(rtmp);
    rtmp.parserData = (buffer) => {
      try {
        received += buffer.length;
        const established = this.established.has(socket);
        if (!established && received > limits.setupBudgetBytes) throw new Violation("too many bytes before publish or play");
        if (rtmp.handshakeState === 0 && buffer[0] !== 3) throw new Violation("not RTMP version 3");
        return parse(buffer);
      } catch (error) {
        if (!(error instanceof Violation)) throw error;
        this.reject(socket, error.message);
        return null;
      }
    };
    const alloc = rtmp.packetAlloc.bind(rtmp);
    rtmp.packetAlloc = () => {
      const max = this.established.has(socket) ? limits.maxMessageBytes : limits.maxSetupMessageBytes;
      if (rtmp.parserPacket.header.length > max) throw new Violation("message too large");
      if (rtmp.inPackets.size > limits.maxChunkStreams) throw new Violation("too many chunk streams");
      alloc();
    };
    const control = rtmp.controlHandler.bind(rtmp);
    rtmp.controlHandler = () => {
      control();
      // 0 would make NMS's chunk reader loop forever; a huge one lets single chunks carry huge messages.
      if (!(rtmp.inChunkSize >= 1 && rtmp.inChunkSize <= limits.maxChunkSize)) throw new Violation("chunk size out of bounds");
    };
  }

  private reject(socket: Socket, reason: string): void {
    this.closed.set(reason, (this.closed.get(reason) ?? 0) + 1);
    this.logger.debug({ remote: socket.remoteAddress, reason }, "RTMP connection closed by the guard");
    socket.destroy();
  }
}
