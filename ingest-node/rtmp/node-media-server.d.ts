// The part of node-media-server 4.4.3 the ingest node relies on (the package ships no types). Some of it
// is internal (src/core/*, rtmpServer, broadcast): pinned by package.json's exact version and read from
// node_modules/node-media-server/src; rtmp-server.ts is the only file that touches it.

declare module "node-media-server" {
  import type { Server, Socket } from "node:net";

  export interface NmsSession {
    id: string;
    /** "address:port" of the peer; empty for NMS's internal sessions */
    ip: string;
    streamApp: string;
    streamName: string;
    /** "/<app>/<name>" */
    streamPath: string;
    /** the stream path's BroadcastServer, shared by its publisher and players */
    broadcast: {
      publishGraceMs: number;
      /** "reconnecting" while a dropped publisher's grace timer runs */
      getPublishStatus(): "publishing" | "reconnecting" | "idle";
      /** ends the held publish now: emits donePublish for it and clears the grace timer */
      _finishPublish(): void;
    };
    /** ends the connection gracefully (socket.end()) */
    close(): void;
    socket: Socket;
    /** the RTMP parser; it hands every media message it reads to onPacketCallback */
    rtmp: { onPacketCallback: (packet: unknown) => void };
  }

  export interface NmsConfig {
    bind?: string;
    rtmp?: { port?: number };
    store?: { path?: string; maxHistory?: number };
  }

  export default class NodeMediaServer {
    constructor(config: NmsConfig);
    /** handleRequest is the listener's "connection" handler; the guard puts itself in front of it */
    rtmpServer: { tcpServer?: Server; handleRequest: (socket: Socket) => void };
    /** its JSON store; with options.signals it flushes on SIGINT/SIGTERM and re-sends the signal */
    store: { options: { signals: boolean } };
    /** starts the listeners synchronously, then opens the store */
    run(): Promise<void>;
    stop(): Promise<void>;
  }
}

declare module "node-media-server/src/core/context.js" {
  import type { EventEmitter } from "node:events";
  import type { NmsSession } from "node-media-server";

  const Context: {
    /** prePublish, postPublish, donePublish, prePlay, donePlay, ... emitted with the session */
    eventEmitter: EventEmitter;
    /** open connections by session id */
    sessions: Map<string, NmsSession>;
  };
  export default Context;
}

declare module "node-media-server/src/core/logger.js" {
  const logger: { level: string; log(message: string, level?: string): void };
  export default logger;
}
