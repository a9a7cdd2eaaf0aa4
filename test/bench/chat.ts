/**
 * `npm run bench:chat`: one chat room under load, through the local Worker.
 *
 * 1,000 WebSocket clients (ws, all in this one Node process) join one room. Phase 1: 50 chat messages a
 * second for 20 s, sent by 200 of those clients in turn (each stays under its 5-per-10-s limit); every
 * client must receive every message, and the delay from send to receipt is measured per delivery.
 * Phase 2: 10,000 reactions a second (10 per client, under the 20/s limit) for 10 s; the room should
 * answer with one aggregated broadcast per 250 ms window.
 *
 * Environment (defaults in brackets):
 *   BENCH_PATH      proxy | direct [proxy]: through wrangler's dev proxy (what `npm start` serves) or
 *                   straight to workerd's own socket
 *   BENCH_DEFLATE   0 | 1 [0]: offer permessage-deflate, as browsers do (the room's cost per frame rises)
 *   BENCH_CLIENTS [1000]  BENCH_CHAT_RATE [50]  BENCH_CHAT_SECONDS [20]
 *   BENCH_REACTION_RATE [10000]  BENCH_REACTION_SECONDS [10]
 *
 * The last line is machine-read:
 *   bench:chat clients=<n> delivered_pct=<x> p99_ms=<x> reaction_broadcasts_per_s=<x>
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { encode, RATE_LIMITS, serverMessageSchema } from "../../durable-objects/protocol";
import { startEdgeWorker } from "../helpers/edge-worker";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLIENTS = env("BENCH_CLIENTS", 1000);
const CHAT_RATE = env("BENCH_CHAT_RATE", 50);
const CHAT_SECONDS = env("BENCH_CHAT_SECONDS", 20);
const REACTION_RATE = env("BENCH_REACTION_RATE", 10_000);
const REACTION_SECONDS = env("BENCH_REACTION_SECONDS", 10);
const PATH = process.env.BENCH_PATH === "direct" ? "direct" : "proxy";
const DEFLATE = process.env.BENCH_DEFLATE === "1";
const CONNECT_CONCURRENCY = 50;
const DRAIN_TIMEOUT_MS = 15_000;
const TICK_MS = 5;
/** Linux's USER_HZ, the unit of /proc/<pid>/stat times */
const CLOCK_TICKS_PER_SECOND = 100;

// Enough senders that each sends at half its chat limit, so no message is refused for rate.
const SENDERS = Math.ceil((CHAT_RATE * RATE_LIMITS.chat.perMs) / 1000 / (RATE_LIMITS.chat.count / 2));
if (SENDERS > CLIENTS) throw new Error(`${CHAT_RATE} messages/s needs at least ${SENDERS} clients to stay under the per-connection limit`);
const MESSAGES = Math.round(CHAT_RATE * CHAT_SECONDS);
const PREFIX = "bench ";

interface Client {
  socket: WebSocket;
  /** which bench messages arrived: every client must see every one, once */
  seen: Uint8Array;
  delivered: number;
  errors: number;
}

const sentAt = new Float64Array(MESSAGES);
const latencies: number[] = [];
let observerChatFrames = 0;
/** when the observer received each aggregated reactions frame */
const reactionFrameTimes: number[] = [];
let reactionsCounted = 0;
let unexpected = 0;

async function main(): Promise<void> {
  const edge = await startEdgeWorker();
  try {
    const base = PATH === "direct" ? edge.directUrl : edge.url;
    const streamId = await createStream(edge.url, edge.adminToken);
    console.log(`room ${streamId} via ${PATH} (${base}); ${CLIENTS} clients, permessage-deflate offered: ${DEFLATE}`);
    // Everything shares this machine's cores with whatever else runs: say how busy it was.
    console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);

    const cpu = new CpuMeter(new URL(edge.url).port);
    const connectStart = performance.now();
    const clients: Client[] = [];
    for (let i = 0; i < CLIENTS; i += CONNECT_CONCURRENCY) {
      const batch = Array.from({ length: Math.min(CONNECT_CONCURRENCY, CLIENTS - i) }, (_, j) => connect(base, streamId, i + j, clients[0] === undefined && j === 0));
      clients.push(...(await Promise.all(batch)));
    }
    const negotiated = new Set(clients.map((c) => c.socket.extensions || "none"));
    console.log(`connected and joined in ${Math.round(performance.now() - connectStart)} ms; extensions negotiated: ${[...negotiated].join(", ")}`);

    cpu.mark();
    await chatPhase(clients);
    const chatCpu = cpu.mark();
    const expected = CLIENTS * MESSAGES;
    const delivered = clients.reduce((n, c) => n + c.delivered, 0);
    const deliveredPct = (100 * delivered) / expected;
    latencies.sort((a, b) => a - b);
    const p50 = percentile(0.5);
    const p99 = percentile(0.99);
    const refused = clients.reduce((n, c) => n + c.errors, 0);
    console.log(
      `chat: ${MESSAGES} messages from ${SENDERS} senders over ${CHAT_SECONDS} s; delivered ${delivered} of ${expected} (${deliveredPct.toFixed(2)}%); ` +
        `latency p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(latencies.at(-1) ?? 0).toFixed(1)} ms; ` +
        `${observerChatFrames} chat frames per client (batched); errors from the room: ${refused}`,
    );
    console.log(`chat CPU: ${chatCpu}`);

    const { sent: reactionsSent, start, end } = await reactionPhase(clients);
    const reactionCpu = cpu.mark();
    const inWindow = reactionFrameTimes.filter((t) => t >= start && t <= end).length;
    const perSecond = (inWindow * 1000) / (end - start);
    console.log(
      `reactions: ${reactionsSent} sent in ${((end - start) / 1000).toFixed(2)} s (${Math.round((reactionsSent * 1000) / (end - start))}/s); ` +
        `the observer received ${inWindow} aggregated broadcasts meanwhile (${perSecond.toFixed(2)}/s), ${reactionFrameTimes.length} in all, ` +
        `counting ${reactionsCounted} reactions; ` +
        `errors from the room: ${clients.reduce((n, c) => n + c.errors, 0) - refused}; unexpected frames: ${unexpected}`,
    );
    console.log(`reactions CPU: ${reactionCpu}`);
    for (const c of clients) c.socket.terminate();
    console.log(`bench:chat clients=${CLIENTS} delivered_pct=${round2(deliveredPct)} p99_ms=${round2(p99)} reaction_broadcasts_per_s=${round2(perSecond)}`);
  } finally {
    await edge.stop();
  }
}

async function createStream(url: string, adminToken: string): Promise<string> {
  const res = await fetch(`${url}/api/streams`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ title: "bench:chat" }),
  });
  if (res.status !== 201) throw new Error(`creating the stream: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

function connect(base: string, streamId: string, index: number, observer: boolean): Promise<Client> {
  const cid = `bench-client-${String(index).padStart(6, "0")}`;
  const socket = new WebSocket(`${base.replace("http", "ws")}/api/streams/${streamId}/chat?cid=${cid}`, { perMessageDeflate: DEFLATE });
  const client: Client = { socket, seen: new Uint8Array(MESSAGES), delivered: 0, errors: 0 };
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () => socket.send(encode(index < SENDERS ? { type: "join", nickname: `sender${index}` } : { type: "join" })));
    socket.on("message", (data) => {
      const now = performance.now();
      // Validate the first client's frames fully; the hot path only needs the fields it reads.
      const message = observer ? serverMessageSchema.parse(JSON.parse(data.toString())) : JSON.parse(data.toString());
      switch (message.type) {
        case "history":
          resolve(client);
          return;
        case "chat":
          if (observer) observerChatFrames += 1;
          for (const { text } of message.messages as { text: string }[]) {
            const seq = Number(text.slice(PREFIX.length));
            if (!text.startsWith(PREFIX) || client.seen[seq]) {
              unexpected += 1;
              continue;
            }
            client.seen[seq] = 1;
            client.delivered += 1;
            latencies.push(now - sentAt[seq]!);
          }
          return;
        case "reactions":
          if (observer) {
            reactionFrameTimes.push(now);
            for (const n of Object.values(message.counts as Record<string, number>)) reactionsCounted += n;
          }
          return;
        case "error":
          client.errors += 1;
          if (client.errors <= 3) console.log(`client ${index}: ${message.code}: ${message.message}`);
          return;
        case "presence":
        case "slow_mode":
          return;
        default:
          unexpected += 1;
      }
    });
  });
}

async function chatPhase(clients: Client[]): Promise<void> {
  const start = performance.now();
  let next = 0;
  while (next < MESSAGES) {
    const due = Math.min(MESSAGES, Math.floor(((performance.now() - start) * CHAT_RATE) / 1000) + 1);
    for (; next < due; next++) {
      sentAt[next] = performance.now();
      clients[next % SENDERS]!.socket.send(encode({ type: "chat", text: `${PREFIX}${next}` }));
    }
    await sleep(TICK_MS);
  }
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (clients.some((c) => c.delivered < MESSAGES) && performance.now() < deadline) await sleep(50);
}

async function reactionPhase(clients: Client[]): Promise<{ sent: number; start: number; end: number }> {
  const total = Math.round(REACTION_RATE * REACTION_SECONDS);
  const emoji = ["heart", "clap", "fire"] as const;
  const frames = emoji.map((e) => encode({ type: "reaction", emoji: e }));
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * REACTION_RATE) / 1000));
    for (; sent < due; sent++) clients[sent % clients.length]!.socket.send(frames[sent % frames.length]!);
    await sleep(TICK_MS);
  }
  const end = performance.now();
  // Broadcasts per second are counted over the sending period; the wait only lets the totals settle.
  const deadline = end + 5_000;
  while (reactionsCounted < total && performance.now() < deadline) await sleep(50);
  return { sent, start, end };
}

/**
 * CPU used per phase by this process and by the workerd processes it started (wrangler's proxy, and the
 * runtime that runs the Worker and the room), so a figure taken on a busy machine can still be read.
 */
class CpuMeter {
  private readonly proxy: number[] = [];
  private readonly runtime: number[] = [];
  private last: { at: number; self: number; proxy: number; runtime: number } | null = null;

  constructor(proxyPort: string) {
    const table = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
      .split("\n")
      .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
    const mine = new Set([process.pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of table) {
        if (mine.has(p.ppid) && !mine.has(p.pid)) {
          mine.add(p.pid);
          grew = true;
        }
      }
    }
    for (const p of table) {
      if (!mine.has(p.pid) || !/\bworkerd serve\b/.test(p.args)) continue;
      (p.args.includes(`entry=127.0.0.1:${proxyPort} `) ? this.proxy : this.runtime).push(p.pid);
    }
  }

  /** CPU use since the previous mark, as a share of one core. */
  mark(): string {
    const now = { at: performance.now(), self: cpuSecondsOfSelf(), proxy: sum(this.proxy.map(cpuSeconds)), runtime: sum(this.runtime.map(cpuSeconds)) };
    const prev = this.last;
    this.last = now;
    if (!prev) return "";
    const seconds = (now.at - prev.at) / 1000;
    const share = (a: number, b: number) => `${Math.round((100 * (a - b)) / seconds)}%`;
    return `bench client ${share(now.self, prev.self)}, workerd runtime ${share(now.runtime, prev.runtime)}, wrangler proxy ${share(now.proxy, prev.proxy)} of one core`;
  }
}

function cpuSeconds(pid: number): number {
  // utime and stime, fields 14 and 15, after the parenthesized command name
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function cpuSecondsOfSelf(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function percentile(p: number): number {
  if (latencies.length === 0) return Number.NaN;
  return latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
}

function round2(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

await main();
