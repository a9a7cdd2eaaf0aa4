/**
 * The load generator's plumbing for `npm run bench:edge` (test/bench/edge.ts): one lean HTTP GET on a
 * shared keep-alive agent, and CPU accounting for this process and the workerd processes it started, so
 * the bench can show whether the generator, the Worker or the machine is the limit.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

export const REQUEST_TIMEOUT_MS = 20_000;

export interface LoadStats {
  /** response times in ms, every answered request */
  latencies: number[];
  /** requests answered by `countUntil` (performance.now() ms): the capacity phase counts only those */
  counted: number;
  countUntil: number;
  errors: number;
  /** of which: no answer within REQUEST_TIMEOUT_MS */
  timeouts: number;
  /** a few of those, for the report */
  unanswered: string[];
  /** requests sent again because the server had closed their kept-alive connection (not errors) */
  retries: number;
  /** errors by cause: HTTP status and what was asked for, or the socket error's code */
  failures: Record<string, number>;
  playlists: number;
  segments: number;
  segmentUrls: Set<string>;
  /** segment URLs an earlier phase already fetched */
  seenBefore: Set<string>;
}

export function newStats(countUntil = Infinity): LoadStats {
  return { latencies: [], counted: 0, countUntil, errors: 0, timeouts: 0, retries: 0, unanswered: [], failures: {}, playlists: 0, segments: 0, segmentUrls: new Set(), seenBefore: new Set() };
}

/** Enough sockets that no request ever queues in the agent: each viewer has at most one request in flight. */
export function loadAgent(viewers: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: viewers + 8, maxFreeSockets: viewers + 8, scheduling: "lifo" });
}

/**
 * The body of a 200 (kept only for playlists: the client must stay lean), else null. Like a browser, it
 * sends a request once more if the server closed the kept-alive connection it went out on before answering.
 */
export function get(base: string, agent: Agent, path: string, stats: LoadStats): Promise<Buffer | null> {
  const keep = path.endsWith(".m3u8");
  if (keep) stats.playlists += 1;
  else if (path.endsWith(".m4s")) stats.segments += 1;
  return attempt(base, agent, path, stats, keep, performance.now(), true);
}

function attempt(base: string, agent: Agent, path: string, stats: LoadStats, keep: boolean, started: number, mayRetry: boolean): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    let gotHeaders = false;
    const fail = (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      if (mayRetry && req.reusedSocket && !gotHeaders && error.code === "ECONNRESET") {
        stats.retries += 1;
        resolve(attempt(base, agent, path, stats, keep, started, false));
        return;
      }
      stats.errors += 1;
      tally(stats, timedOut ? "timeout" : (error.code ?? error.message));
      if (timedOut) {
        stats.timeouts += 1;
        if (stats.unanswered.length < 3) stats.unanswered.push(`${path} (${gotHeaders ? "body stalled" : "no headers"})`);
      }
      resolve(null);
    };
    const req = request(`${base}${path}`, { agent }, (res) => {
      gotHeaders = true;
      const chunks: Buffer[] = [];
      if (keep) res.on("data", (chunk: Buffer) => chunks.push(chunk));
      else res.resume();
      res.on("error", fail);
      res.on("end", () => {
        if (settled) return;
        settled = true;
        const ended = performance.now();
        stats.latencies.push(ended - started);
        if (ended <= stats.countUntil) stats.counted += 1;
        if (res.statusCode !== 200) {
          stats.errors += 1;
          tally(stats, `${res.statusCode} ${kindOf(path)}`);
        }
        resolve(res.statusCode === 200 ? Buffer.concat(chunks) : null);
      });
    });
    // A request the Worker never answers would stall its viewer (and the phase) for good.
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      timedOut = true;
      req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`));
    });
    req.on("error", fail);
    req.end();
  });
}

function tally(stats: LoadStats, cause: string): void {
  stats.failures[cause] = (stats.failures[cause] ?? 0) + 1;
}

const kindOf = (path: string) => (path.endsWith(".m3u8") ? "playlist" : path.endsWith(".m4s") ? "segment" : "init");

// ---- CPU accounting (Linux /proc; elsewhere the figures read as NaN) ----

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (ms) used so far by each watched process, by this process and by the whole machine. */
export interface CpuSample {
  at: number;
  self: NodeJS.CpuUsage;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
  processes: Record<string, number>;
  machineBusy: number;
  machineTotal: number;
}

export interface CpuUse {
  /** % of one core */
  generator: number;
  /** share of wall time the generator's event loop was busy (1 = saturated) */
  generatorLoop: number;
  processes: Record<string, number>;
  /** % of all cores together (100 = every core busy) */
  machine: number;
}

export function sampleCpu(watched: Record<string, number | undefined>): CpuSample {
  const processes: Record<string, number> = {};
  for (const [name, pid] of Object.entries(watched)) processes[name] = pid === undefined ? NaN : processCpuMs(pid);
  const [busy, total] = machineTicks();
  return { at: performance.now(), self: process.cpuUsage(), elu: performance.eventLoopUtilization(), processes, machineBusy: busy, machineTotal: total };
}

export function cpuBetween(a: CpuSample, b: CpuSample): CpuUse {
  const wall = b.at - a.at;
  const selfMs = (b.self.user - a.self.user + b.self.system - a.self.system) / 1000;
  const processes: Record<string, number> = {};
  for (const name of Object.keys(b.processes)) processes[name] = (100 * (b.processes[name]! - a.processes[name]!)) / wall;
  return {
    generator: (100 * selfMs) / wall,
    generatorLoop: performance.eventLoopUtilization(b.elu, a.elu).utilization,
    processes,
    machine: (100 * (b.machineBusy - a.machineBusy)) / (b.machineTotal - a.machineTotal),
  };
}

function processCpuMs(pid: number): number {
  try {
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

function machineTicks(): [busy: number, total: number] {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.slice(0, 8).reduce((x, y) => x + y, 0);
    return [total - cpu[3]! - cpu[4]!, total];
  } catch {
    return [NaN, NaN];
  }
}

/** workerd processes started by this one (at any depth), oldest pid first. */
export function workerdPids(): number[] {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of safeReaddir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name === "workerd" && descends(pid)).map(([pid]) => pid).sort((a, b) => a - b);
}

/** Which of `pids` listens on TCP `port` (loopback), by the socket inodes in /proc/net/tcp. */
export function pidListeningOn(port: number, pids: number[]): number | undefined {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // 0A: LISTEN
      if (parseInt(cols[1]!.split(":")[1]!, 16) === port) inodes.add(cols[9]!);
    }
  }
  return pids.find((pid) =>
    safeReaddir(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? "");
      } catch {
        return false;
      }
    }),
  );
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
