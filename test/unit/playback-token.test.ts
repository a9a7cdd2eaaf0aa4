import { describe, expect, it } from "vitest";
import { parseIpAddress, parseIpPrefix, prefixContains } from "../../workers/media/ip-prefix";
import { presentedTokens, signPlaybackToken, verifyPlaybackToken } from "../../workers/media/playback-token";

const SECRET = "unit-test-signing-key";
const STREAM = "abcdefghijkl";
const NOW = 1_800_000_000;

const mint = (claims: { streamId?: string; expiresAt?: number; viewerPrefix?: string } = {}) =>
  signPlaybackToken(SECRET, { streamId: STREAM, expiresAt: NOW + 60, ...claims });

describe("playback tokens", () => {
  it("verifies a token for its stream until it expires", async () => {
    const token = await mint();
    expect(token).toMatch(/^1800000060\.\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyPlaybackToken(SECRET, token, STREAM, NOW, null)).toEqual({ ok: true, expiresAt: NOW + 60 });
    expect(await verifyPlaybackToken(SECRET, token, STREAM, NOW + 59, null)).toEqual({ ok: true, expiresAt: NOW + 60 });
    expect(await verifyPlaybackToken(SECRET, token, STREAM, NOW + 60, null)).toEqual({ ok: false, reason: "expired", expiresAt: NOW + 60 });
  });

  it("is deterministic and safe in a URL and a cookie without escaping", async () => {
    const token = await mint({ viewerPrefix: "2001:db8::/32" });
    expect(await mint({ viewerPrefix: "2001:db8::/32" })).toBe(token);
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(encodeURIComponent(token)).toBe(token);
  });

  it.each([
    ["another stream", async (t: string) => ({ token: t, stream: "zzzzzzzzzzzz", secret: SECRET })],
    ["another key", async (t: string) => ({ token: t, stream: STREAM, secret: "another-key" })],
    ["a later expiry", async (t: string) => ({ token: t.replace(/^\d+/, String(NOW + 999_999)), stream: STREAM, secret: SECRET })],
    ["a prefix added", async (t: string) => ({ token: t.replace("..", `.${btoa("0.0.0.0/0")}.`), stream: STREAM, secret: SECRET })],
    ["a flipped MAC character", async (t: string) => ({ token: t.slice(0, -2) + (t.at(-2) === "A" ? "B" : "A") + t.at(-1), stream: STREAM, secret: SECRET })],
  ])("calls a token forged when used with %s", async (_, tamper) => {
    const { token, stream, secret } = await tamper(await mint());
    expect(await verifyPlaybackToken(secret, token, stream, NOW, "192.0.2.1")).toEqual({ ok: false, reason: "forged" });
  });

  it("does not call a forged token expired (the MAC is checked first)", async () => {
    const token = (await mint({ expiresAt: NOW - 10 })).replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect(await verifyPlaybackToken(SECRET, token, STREAM, NOW, null)).toEqual({ ok: false, reason: "forged" });
  });

  it.each(["", "x", "1.2.3", "..", `${NOW}..${"A".repeat(42)}`, `${NOW}..${"A".repeat(44)}`, `-1..${"A".repeat(43)}`, `${NOW}.%%.${"A".repeat(43)}`, `${"1".repeat(300)}..${"A".repeat(43)}`])(
    "calls %j malformed",
    async (token) => {
      expect(await verifyPlaybackToken(SECRET, token, STREAM, NOW, null)).toEqual({ ok: false, reason: "malformed" });
    },
  );

  it("binds a token to a viewer address prefix", async () => {
    const v4 = await mint({ viewerPrefix: "203.0.113.0/24" });
    expect((await verifyPlaybackToken(SECRET, v4, STREAM, NOW, "203.0.113.77")).ok).toBe(true);
    for (const address of ["203.0.114.1", "2001:db8::1", "not an address", null]) {
      expect(await verifyPlaybackToken(SECRET, v4, STREAM, NOW, address)).toEqual({ ok: false, reason: "wrong-network", expiresAt: NOW + 60 });
    }
    const v6 = await mint({ viewerPrefix: "2001:db8:1234::/48" });
    expect((await verifyPlaybackToken(SECRET, v6, STREAM, NOW, "2001:db8:1234:ffff::1")).ok).toBe(true);
    expect((await verifyPlaybackToken(SECRET, v6, STREAM, NOW, "2001:db8:1235::1")).ok).toBe(false);
  });

  it("takes the query token first, then up to four cookies named onair_playback", () => {
    const url = new URL("https://x.test/live/abcdefghijkl/master.m3u8?token=q1&token=q2");
    expect(presentedTokens(url, "a=b; onair_playback=c1; onair_playback = c2=x ;other=1")).toEqual(["q1", "c1", "c2=x"]);
    expect(presentedTokens(new URL("https://x.test/"), null)).toEqual([]);
    expect(presentedTokens(new URL("https://x.test/"), Array(20).fill("onair_playback=c").join("; "))).toHaveLength(4);
  });
});

describe("address prefixes", () => {
  it.each([
    ["203.0.113.0/24", [203, 0, 113, 0], 24],
    ["192.0.2.1", [192, 0, 2, 1], 32],
    ["0.0.0.0/0", [0, 0, 0, 0], 0],
    ["::/0", Array(16).fill(0), 0],
    ["2001:db8::/32", [0x20, 0x01, 0x0d, 0xb8, ...Array(12).fill(0)], 32],
    ["::ffff:192.0.2.1/128", [...Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1], 128],
  ])("parses %s", (text, bytes, bits) => {
    expect(parseIpPrefix(text)).toEqual({ bytes: Uint8Array.from(bytes), bits });
  });

  it.each(["", "/24", "203.0.113.0/33", "203.0.113/24", "203.0.113.256", "010.0.0.1", "1.2.3.4/24/1", "2001:db8::/129", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1.2.3.4::", "fe80::1%eth0", "12345::", "1.2.3.4/+1"])(
    "refuses %j",
    (text) => {
      expect(parseIpPrefix(text)).toBeNull();
    },
  );

  it("matches on whole and partial bytes", () => {
    const p = parseIpPrefix("10.128.0.0/9")!;
    expect(prefixContains(p, parseIpAddress("10.200.1.1")!)).toBe(true);
    expect(prefixContains(p, parseIpAddress("10.127.255.255")!)).toBe(false);
    expect(prefixContains(parseIpPrefix("0.0.0.0/0")!, parseIpAddress("198.51.100.9")!)).toBe(true);
    expect(prefixContains(parseIpPrefix("::/0")!, parseIpAddress("198.51.100.9")!)).toBe(false);
    expect(prefixContains(parseIpPrefix("2001:db8::/31")!, parseIpAddress("2001:db9::1")!)).toBe(true);
    expect(prefixContains(parseIpPrefix("2001:db8::/32")!, parseIpAddress("2001:db9::1")!)).toBe(false);
  });
});
