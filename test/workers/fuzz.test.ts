import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { signPlaybackToken } from "../../workers/media/playback-token";
import { NOT_FOUND_CACHE_CONTROL } from "../../workers/shared/cache-policy";
import { parseMediaPath } from "../../workers/shared/layout";
import { env, ORIGIN, registeredStreamId } from "./helpers";

/**
 * Hostile requests, generated: at least 10,000 URLs and header sets from a seeded PRNG (same cases every
 * run; change SEED to explore). Every answer must be 2xx/3xx/4xx, every R2 read must be exactly the object
 * the request's path names (so inside live/<streamId>/ and accepted by parseMediaPath), and the signed
 * stream must never answer 2xx/3xx to a request that carries no valid token.
 */
const SEED = 20_260_704;
const CASES = 10_000;
const CONCURRENCY = 50;

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number) => next() < p;
  // By UTF-16 code unit: half an emoji (a lone surrogate) is welcome here.
  const text = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[int(alphabet.length)]).join("");
  return { int, pick, chance, text };
}

interface Case {
  method: string;
  url: string;
  headers: Record<string, string>;
  edgeCache: "on" | "off";
  /** set when the generator knows the answer for sure */
  expect?: number;
}

const SESSION = "sess000001";
const FILES = ["master.m3u8", "poster.jpg", `${SESSION}/720p/index.m3u8`, `${SESSION}/720p/init-1.mp4`, `${SESSION}/720p/seg-00001.m4s`, `${SESSION}/720p/seg-00002.m4s`];
const MISSING = [`${SESSION}/720p/seg-99999.m4s`, `${SESSION}/480p/index.m3u8`, "othersession1/720p/init-1.mp4"];
const DECOYS = ["secrets/admin.json", "live/secrets.json", "live.json", "wrangler.toml", "live/abcdefghijkl.m3u8"];
const IPS_IN_PREFIX = ["10.1.2.3", "10.255.0.1"];
const IPS = [...IPS_IN_PREFIX, "11.0.0.1", "192.0.2.1", "2001:db8::1", "::ffff:10.1.2.3", "010.1.2.3", "garbage", "10.1.2.3, 10.1.2.4"];
const UNREGISTERED = "q9w8e7r6t5y4";
const GARBAGE = "abcdefghijklmnopqrstuvwxyz0123456789-._~%/\\?#[]@!$&'()*+,;=:ÀéΩ中😀 \t\u202e\u0000";

let publicId: string;
let signedId: string;
let tokens: { valid: string; bound: string; expired: string; otherStream: string; forged: string };

beforeAll(async () => {
  [publicId, signedId] = await Promise.all([registeredStreamId(false), registeredStreamId(true)]);
  const puts = [publicId, signedId, UNREGISTERED].flatMap((id) =>
    FILES.map((file) => env.MEDIA.put(`live/${id}/${file}`, file.endsWith(".m3u8") ? `#EXTM3U\n#EXT-X-TARGETDURATION:2\n${file}\n` : new Uint8Array(128))),
  );
  await Promise.all([...puts, ...DECOYS.map((key) => env.MEDIA.put(key, "decoy"))]);
  const key = env.PLAYBACK_SIGNING_KEY!;
  const far = 4_000_000_000;
  const valid = await signPlaybackToken(key, { streamId: signedId, expiresAt: far });
  tokens = {
    valid,
    bound: await signPlaybackToken(key, { streamId: signedId, expiresAt: far, viewerPrefix: "10.0.0.0/8" }),
    expired: await signPlaybackToken(key, { streamId: signedId, expiresAt: 1_600_000_000 }),
    otherStream: await signPlaybackToken(key, { streamId: publicId, expiresAt: far }),
    forged: `${valid.slice(0, -3)}${valid.endsWith("AAA") ? "BBB" : "AAA"}`,
  };
});

function generate(r: ReturnType<typeof prng>): Case {
  const id = () => r.pick([publicId, signedId, signedId, UNREGISTERED, "abcdefghijkl", publicId.toUpperCase(), `${publicId}x`, publicId.slice(1)]);
  const valid = () => ({ path: `/live/${id()}/${r.pick(FILES)}`, clean: true });
  // About a third well-formed paths, so that 200, 206, 304 and 403 are reached often enough to mean something.
  const pathKinds: (() => { path: string; clean?: boolean })[] = [
    valid,
    valid,
    valid,
    valid,
    valid,
    () => ({ path: `/live/${id()}/${r.pick(MISSING)}`, clean: true }),
    () => ({ path: `/live/${id()}/${r.pick(FILES)}${r.pick(["/", "/..", ";x", "%00", "~", ".bak", "%2f", "/.", "//"])}` }),
    () => ({ path: `/live/${id()}/${r.pick(["..", ".", "%2e%2e", "%2E%2E", ".%2e", "..%2f..%2f", "..\\..\\", "%5c..%5c", "%252e%252e"])}/${r.pick([...DECOYS, ...FILES])}` }),
    () => ({ path: r.pick(["/live/..", "/live/../", "/live/%2e%2e/secrets/admin.json", "//live/x", "/live//", "/./live/x", "/LIVE/x", "/Live/x", "/lіve/x", "/ｌｉｖｅ/x", "/live", "/live/"]) + r.pick(["", `/${r.pick(FILES)}`, `/${r.pick(DECOYS)}`]) }),
    () => ({ path: `/live/${id()}/${SESSION}/${r.pick(["720p", "720P", "1080p", "audio", "7p", "99999p", "%37%32%30p", "..", "x"])}/${r.pick(["index.m3u8", "init-1.mp4", "init.mp4", "seg-00001.m4s", "seg-1.m4s", "seg-0000000001.m4s", "seg-00001.M4S", "seg-00001.ts", "index.m3u8 "])}` }),
    () => ({ path: `/live/${id()}/${r.text("abcdefghijklmnopqrstuvwxyz0123456789/.-", 1 + r.int(400))}` }),
    () => ({ path: `/live/${r.text(GARBAGE, 1 + r.int(r.chance(0.2) ? 3_000 : 60))}` }),
    () => ({ path: `/${r.text(GARBAGE, r.int(80))}` }),
    () => ({ path: `/live/${id()}/${"a/".repeat(r.int(200))}${r.pick(FILES)}` }),
    () => ({ path: r.pick(["/healthz", `/api/streams/${id()}`, "/internal/metrics", "/api/streams?status=live"]) }),
  ];
  const { path, clean = false } = r.pick(pathKinds)();

  // Header values stay printable ASCII (what a browser can send); URLs get the unicode.
  const printable = (length: number) => r.text(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~", length);
  const token = () => r.pick([tokens.valid, tokens.bound, tokens.expired, tokens.otherStream, tokens.forged, "", "x", printable(r.int(300)), `${tokens.valid}%00`, tokens.valid.replace("A", "%41")]);
  const query = r.pick([
    () => "",
    () => `?token=${token()}`,
    () => `?token=${token()}&token=${token()}`,
    () => `?${r.text(GARBAGE, r.int(100))}`,
    () => `?cachebust=${r.int(1e9)}&token=${token()}`,
  ])();

  const headers: Record<string, string> = {};
  if (r.chance(0.3)) headers.Range = r.pick(["bytes=0-99", "bytes=-5", "bytes=100-", "bytes=5-1", "bytes=abc", "bytes=0-1,5-6", "items=0-1", "bytes=99999999999999999999-", "bytes=-0", "bytes=0-0", "bytes=128-", printable(20)]);
  if (r.chance(0.2)) headers["If-None-Match"] = r.pick(["*", "*", "*", '"x"', 'W/"x"', printable(40), '"a", "b"']);
  if (r.chance(0.1)) headers["If-Range"] = r.pick(['"x"', printable(10)]);
  if (r.chance(0.3)) headers.Origin = r.pick(["https://player.example", "null", printable(30)]);
  if (r.chance(0.4)) {
    headers.Cookie = r.pick([
      () => `onair_playback=${token()}`,
      () => `a=b; onair_playback=${token()}; c=d`,
      () => Array.from({ length: 1 + r.int(20) }, () => `onair_playback=${token()}`).join("; "),
      () => printable(r.int(200)),
    ])();
  }
  if (r.chance(0.5)) headers["CF-Connecting-IP"] = r.pick(IPS);
  if (r.chance(0.1)) headers[r.pick(["X-Forwarded-For", "Accept-Encoding", "Authorization", "Content-Type", "X-Original-URL"])] = printable(r.int(100));

  const method = r.chance(0.85) ? r.pick(["GET", "GET", "GET", "HEAD"]) : r.pick(["OPTIONS", "POST", "PUT", "DELETE", "PATCH", "PROPFIND"]);
  const plain = clean && query === "" && Object.keys(headers).length === 0 && (method === "GET" || method === "HEAD");
  const [, , streamId, ...rest] = path.split("/");
  const exists = FILES.includes(rest.join("/"));
  let expected: number | undefined;
  if (plain && streamId === publicId) expected = exists ? 200 : 404;
  if (plain && streamId === signedId) expected = exists ? 403 : 404;
  if (clean && streamId === UNREGISTERED && method === "GET") expected = 404;
  return { method, url: `${ORIGIN}${path}${query}`, headers, edgeCache: r.pick(["on", "off"]), ...(expected ? { expect: expected } : {}) };
}

/** A bucket that records every key read and refuses to do anything but read. */
function recordingBucket(reads: string[]): R2Bucket {
  return new Proxy({} as R2Bucket, {
    get: (_, method) => (key: string, options?: R2GetOptions) => {
      reads.push(method === "get" ? key : `${String(method)}:${key}`);
      return method === "get" ? env.MEDIA.get(key, options) : Promise.reject(new Error(`the media route called R2 ${String(method)}`));
    },
  });
}

function carriesValidToken(request: Request): boolean {
  const fromNetwork = IPS_IN_PREFIX.includes(request.headers.get("CF-Connecting-IP") ?? "");
  const presented = [...new URL(request.url).searchParams.getAll("token"), request.headers.get("Cookie") ?? ""];
  return presented.some((value) => value.includes(tokens.valid) || (fromNetwork && value.includes(tokens.bound)));
}

const ERROR_CACHE_CONTROLS = ["no-store", NOT_FOUND_CACHE_CONTROL];

describe("fuzz: hostile media requests", () => {
  it(`answers ${CASES} generated requests without a 5xx, reading only the object each path names`, { timeout: 120_000 }, async () => {
    const r = prng(SEED);
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let readsTotal = 0;

    const run = async (c: Case) => {
      let request: Request;
      try {
        request = new Request(c.url, { method: c.method, headers: c.headers, body: ["POST", "PUT", "PATCH"].includes(c.method) ? "x" : undefined });
      } catch {
        return; // not a request a client could send (the URL or a header does not parse)
      }
      sent += 1;
      const reads: string[] = [];
      const ctx = createExecutionContext();
      const describeCase = () => `${c.method} ${request.url} ${JSON.stringify(c.headers)}`;
      try {
        // Half the cases without the edge cache, so that most requests reach R2 and their reads are checked.
        const res = await worker.fetch(request, { ...env, MEDIA: recordingBucket(reads), EDGE_CACHE: c.edgeCache }, ctx);
        await res.arrayBuffer();
        await waitOnExecutionContext(ctx);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        readsTotal += reads.length;
        const pathname = new URL(request.url).pathname;
        const streamId = pathname.split("/")[2];
        const cacheControl = res.headers.get("Cache-Control") ?? "";
        if (res.status >= 500 || res.status < 200) problems.push(`${res.status} for ${describeCase()}`);
        // Media is read-only whatever the path; judged on the path the Worker sees (the URL parser resolves dot segments).
        const expected = c.expect ?? (pathname.startsWith("/live/") && !["GET", "HEAD", "OPTIONS"].includes(c.method) ? 405 : undefined);
        if (expected && res.status !== expected) problems.push(`${res.status}, expected ${expected}, for ${describeCase()}`);
        for (const key of reads) {
          const parsed = parseMediaPath(`/${key}`);
          if (!parsed.ok || parsed.object.key !== key || key !== pathname.slice(1) || !["GET", "HEAD"].includes(c.method)) {
            problems.push(`read ${JSON.stringify(key)} for ${describeCase()}`);
          }
        }
        if (reads.length > 1) problems.push(`${reads.length} reads for ${describeCase()}`);
        if (pathname.startsWith("/live/") && res.status < 400 && res.status !== 204) {
          if (streamId === signedId && (!carriesValidToken(request) || !cacheControl.startsWith("private,"))) {
            problems.push(`signed stream answered ${res.status} (${cacheControl}) to ${describeCase()}`);
          }
          if (streamId === publicId && !cacheControl.startsWith("public,")) problems.push(`public stream answered ${cacheControl} to ${describeCase()}`);
        }
        if (res.status >= 400 && !ERROR_CACHE_CONTROLS.includes(cacheControl)) problems.push(`${res.status} with Cache-Control ${cacheControl} for ${describeCase()}`);
      } catch (error) {
        problems.push(`threw ${String(error)} for ${describeCase()}`);
      }
    };

    while (sent < CASES) {
      await Promise.all(Array.from({ length: CONCURRENCY }, () => run(generate(r))));
    }

    console.log(`fuzz: ${sent} requests, ${readsTotal} R2 reads, answers by status ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(problems.slice(0, 20)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(CASES);
    // The generator must reach the interesting answers, or the invariants above prove little.
    for (const status of [200, 206, 304, 400, 403, 404, 405]) expect(statuses.get(status) ?? 0, `answers with ${status}`).toBeGreaterThan(20);
    expect(readsTotal).toBeGreaterThan(0);
  });
});
