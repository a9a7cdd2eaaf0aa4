import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseClientFrame } from "../../durable-objects/chat/parse";
import { SlidingWindowLimiter } from "../../durable-objects/chat/rate-limit";
import { ChatStore } from "../../durable-objects/chat/store";
import { Throttle } from "../../durable-objects/chat/throttle";
import { env } from "./helpers";

describe("SlidingWindowLimiter", () => {
  it("allows `limit` events in any window and says how long to wait for the next", () => {
    const limiter = new SlidingWindowLimiter(5, 10_000);
    for (const t of [0, 1_000, 2_000, 3_000, 4_000]) expect(limiter.take(t)).toBe(0);
    expect(limiter.take(4_500)).toBe(5_500);
    // A refused attempt is not recorded, so it does not push the window further out.
    expect(limiter.take(9_999)).toBe(1);
    expect(limiter.take(10_000)).toBe(0);
    expect(limiter.take(10_500)).toBe(500);
  });
});

describe("Throttle", () => {
  it("collapses a burst into one run and spaces later runs by the interval", async () => {
    const runs: number[] = [];
    const start = Date.now();
    const throttle = new Throttle(() => runs.push(Date.now() - start), 200, 50);
    for (let i = 0; i < 10; i++) throttle.request();
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toHaveLength(1);
    throttle.request();
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(runs).toHaveLength(2);
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(200);
  });
});

describe("parseClientFrame", () => {
  it("accepts each client message and normalizes chat text", () => {
    expect(parseClientFrame('{"type":"join"}')).toEqual({ ok: true, message: { type: "join" } });
    expect(parseClientFrame('{"type":"join","nickname":"  ann "}')).toEqual({ ok: true, message: { type: "join", nickname: "ann" } });
    expect(parseClientFrame('{"type":"chat","text":" a\\tb\\r\\nc "}')).toEqual({ ok: true, message: { type: "chat", text: "a b  c" } });
    expect(parseClientFrame('{"type":"reaction","emoji":"party"}')).toEqual({ ok: true, message: { type: "reaction", emoji: "party" } });
  });

  it("counts characters, not bytes: 500 accented letters are a valid message", () => {
    const text = "é".repeat(500);
    expect(parseClientFrame(JSON.stringify({ type: "chat", text }))).toMatchObject({ ok: true });
    expect(parseClientFrame(JSON.stringify({ type: "chat", text: `${text}é` }))).toMatchObject({ ok: false, code: "invalid_message" });
  });

  it.each([
    ["[1,2]", "unknown_type"],
    ["null", "unknown_type"],
    ['{"type":"chat"}', "invalid_message"],
    ['{"type":"chat","text":"   "}', "invalid_message"],
    ['{"type":"join","nickname":""}', "invalid_message"],
    ['{"type":"reaction","emoji":"HEART"}', "invalid_message"],
    ['{"type":"history"}', "unknown_type"],
  ])("refuses %s as %s", (frame, code) => {
    expect(parseClientFrame(frame)).toMatchObject({ ok: false, code });
  });

  it("names the field that is wrong", () => {
    const outcome = parseClientFrame(JSON.stringify({ type: "chat", text: "x".repeat(501) }));
    expect(outcome).toEqual({ ok: false, code: "invalid_message", message: "chat: text: message is longer than 500 characters" });
  });
});

describe("ChatStore", () => {
  it("keeps history across pruning: the newest 10,000 messages, with ids that never repeat", async () => {
    const stub = env.ChatRoom.getByName(`store-${crypto.randomUUID()}`);
    const message = (store: ChatStore, text: string, ts: number) => ({ id: store.allocateId(), userId: "0123456789abcdef", nickname: "n", text, ts });
    await runInDurableObject(stub, (_, state) => {
      const store = new ChatStore(state.storage.sql);
      // Batches of 7 straddle the pruning points, which fall every 500 ids.
      for (let i = 1; i <= 10_500; i += 7) {
        store.appendAll(Array.from({ length: Math.min(7, 10_501 - i) }, (_, j) => message(store, `m${i + j}`, i + j)));
      }
      const count = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n;
      expect(count).toBe(10_000);
      expect(store.recent(2).map((m) => m.text)).toEqual(["m10499", "m10500"]);
      expect(store.delete(10_500)).toBe(true);
      expect(store.lastPostAt("0123456789abcdef")).toBe(10_499);
      expect(store.lastPostAt("fedcba9876543210")).toBeNull();
    });
    // A new instance (the object after a restart) continues after the deleted newest id instead of reusing it.
    await runInDurableObject(stub, (_, state) => {
      expect(new ChatStore(state.storage.sql).allocateId()).toBe(10_501);
    });
  });
});
