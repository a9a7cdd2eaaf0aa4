import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestNode } from "../../ingest-node/ingest-node";
import type { ObjectStore } from "../../ingest-node/storage/object-store";
import { captureLogger, publish, startFakeEdge, startInProcessIngest, waitFor, type FakeEdge, type InProcessIngest } from "./ingest-fixtures";

/**
 * Hostile RTMP against the whole ingest node while it streams: every hostile connection is closed by
 * the node, its memory stays bounded, and the live stream goes on. Unguarded, node-media-server 4.4.3
 * grew about 37 MB per such connection and closed none (field notes); a chunk size of 0 hangs it.
 */
const SECRET = "test-ingest-secret";
const KEY = `sk_${"c3".repeat(20)}`;
const STREAM = "hostileprobe";
const CONNECTIONS_PER_KIND = 200;
/**
 * Open at once. Below the listen backlog (511), so the kernel accepts every connection promptly; the
 * attackers live in this process too, so this also bounds the clients' share of the RSS measured.
 */
const CONCURRENCY = 350;
/** far below the unguarded 37 MB per connection times 1,000; covers heap noise and the live transcode's buffers */
const RSS_GROWTH_LIMIT_MB = 200;

/** Keeps only the keys put: a store holding every segment in this process would swamp the RSS measured. */
class KeyOnlyStore implements ObjectStore {
  readonly keys: string[] = [];
  async put(key: string): Promise<void> {
    this.keys.push(key);
  }
  async delete(): Promise<void> {}
  async close(): Promise<void> {}
}

type Attack = (socket: Socket, handshaken: () => Promise<void>) => Promise<void>;

/** C0 + C1, then waits for S0 S1 S2 and sends C2: a valid handshake, so the chunk parser is reached. */
async function handshake(socket: Socket): Promise<void> {
  socket.write(Buffer.concat([Buffer.from([3]), randomBytes(1536)]));
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (data: Buffer) => {
      received += data.length;
      if (received < 3073) return;
      socket.off("data", onData);
      resolve();
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error("closed during handshake")));
  });
  socket.write(randomBytes(1536));
}

/** a chunk on chunk stream csid (type 0 header) declaring a message of `length` bytes of `type` */
function chunkHeader(csid: number, length: number, type: number): Buffer {
  const header = Buffer.alloc(12);
  header[0] = csid & 0x3f;
  header.writeUIntBE(length, 4, 3);
  header[7] = type;
  return header;
}

const ATTACKS: Record<string, Attack> = {
  "random bytes": async (socket) => void socket.write(randomBytes(4096)),
  "random bytes after the handshake": async (socket) => {
    await handshake(socket);
    socket.write(randomBytes(8192));
  },
  "wrong version byte": async (socket) => void socket.write(Buffer.concat([Buffer.from([6]), randomBytes(1536)])),
  "truncated handshake": async (socket) => void socket.write(Buffer.concat([Buffer.from([3]), randomBytes(500)])),
  "huge chunk size": async (socket) => {
    await handshake(socket);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(socket.localPort! % 2 === 0 ? 0 : 0x7fffffff);
    socket.write(Buffer.concat([chunkHeader(2, 4, 1), size]));
  },
  "huge messages on many chunk streams": async (socket) => {
    await handshake(socket);
    for (let csid = 3; csid < 60; csid++) socket.write(Buffer.concat([chunkHeader(csid, 0xffffff, 9), randomBytes(128)]));
  },
  trickle: async (socket) => {
    const timer = setInterval(() => socket.write(Buffer.from([3])), 200);
    socket.once("close", () => clearInterval(timer));
  },
};

describe("hostile RTMP", () => {
  let edge: FakeEdge;
  let store: KeyOnlyStore;
  let node: IngestNode;
  let port: number;
  const log = captureLogger();
  const { lines } = log;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    edge = await startFakeEdge(SECRET, { [KEY]: STREAM });
    store = new KeyOnlyStore();
    ingest = await startInProcessIngest({
      name: "hostile",
      secret: SECRET,
      edge,
      store,
      log,
      env: {
        // Every attack comes from 127.0.0.1 here: the per-address cap must not hide what the other limits do.
        ONAIR_RTMP_MAX_CONNECTIONS_PER_ADDRESS: "100000",
        ONAIR_RECONNECT_WINDOW_SECONDS: "0",
      },
    });
    ({ node, rtmpPort: port } = ingest);
  });

  afterAll(async () => {
    await ingest?.stop();
  });

  const playlistPuts = () => store.keys.filter((key) => key.endsWith("/720p/index.m3u8")).length;

  it(`closes ${CONNECTIONS_PER_KIND * Object.keys(ATTACKS).length} hostile connections with bounded memory while a live stream goes on`, async () => {
    const publisher = publish({ url: `${node.rtmpUrl}/${KEY}`, seconds: 120 });
    await waitFor(() => edge.events.some((e) => e.type === "live"), 20_000);
    // Retained memory, not garbage not yet collected: the live transcode's segment reads in this same
    // process would otherwise dominate what is measured.
    const baseline = retainedRss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, retainedRss())), 250);
    const putsBefore = playlistPuts();

    // Kinds interleaved, so every moment of the attack mixes them.
    const kinds = Object.entries(ATTACKS);
    const attacks = Array.from({ length: CONNECTIONS_PER_KIND * kinds.length }, (_, i) => kinds[i % kinds.length]!);
    const outcomes = await inPool(attacks.map(([kind, attack]) => () => attackOnce(port, kind, attack)), CONCURRENCY);
    clearInterval(sampler);
    const growthMb = (peak - baseline) / 2 ** 20;
    console.log(`hostile: ${outcomes.length} connections, ${CONCURRENCY} at a time; RSS ${Math.round(baseline / 2 ** 20)} MB -> peak ${Math.round(peak / 2 ** 20)} MB`);

    // Every connection was closed by the node (the clients never close on their own).
    expect(outcomes.filter((o) => !o.closed).map((o) => o.kind)).toEqual([]);
    expect(lines.filter((l) => l.includes("RTMP connection closed by the guard")).length).toBeGreaterThanOrEqual(outcomes.length * 0.9);
    expect(growthMb).toBeLessThan(RSS_GROWTH_LIMIT_MB);

    // The live stream kept going: new playlists, still live, and the publisher is still connected.
    await waitFor(() => playlistPuts() >= putsBefore + 3, 20_000);
    // Health reports come every few seconds meanwhile; nothing ended the session.
    expect(edge.events.map((e) => e.type).filter((t) => t !== "health")).toEqual(["live"]);
    publisher.stop();
    await waitFor(() => edge.events.some((e) => e.type === "idle"), 20_000);
  }, 180_000);
});

const collectGarbage = (() => {
  v8.setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

function retainedRss(): number {
  collectGarbage();
  return process.memoryUsage().rss;
}

async function inPool<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** One hostile client; resolves once the node has closed it (or after 30 s, as not closed). */
function attackOnce(port: number, kind: string, attack: Attack): Promise<{ kind: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ kind, closed: false });
      // Far beyond the guard's 10 s setup limit: only a node that never closes it fails, not a slow machine.
    }, 60_000);
    socket.on("error", () => {});
    // Reads (and drops) what the node sends: a paused socket with unread data never reports the close.
    socket.resume();
    socket.once("close", () => {
      clearTimeout(giveUp);
      resolve({ kind, closed: true });
    });
    socket.once("connect", () => void attack(socket, () => handshake(socket)).catch(() => {}));
  });
}
