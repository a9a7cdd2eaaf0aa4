import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CLOSE_BANNED, userIdFor } from "../../durable-objects/protocol";
import { ChatProbe, newClientId } from "../helpers/chat-probe";
import { startEdgeWorker, type EdgeWorker } from "../helpers/edge-worker";

// Real WebSocket clients (ws, compression offered as browsers do) through the real local Worker:
// wrangler's dev server, the Worker's chat route, the ChatRoom Durable Object in workerd.
let edge: EdgeWorker;

beforeAll(async () => {
  edge = await startEdgeWorker();
});

afterAll(async () => {
  await edge?.stop();
});

interface Client {
  probe: ChatProbe;
  socket: WebSocket;
  clientId: string;
}

async function createStream(): Promise<string> {
  const res = await fetch(`${edge.url}/api/streams`, {
    method: "POST",
    headers: { Authorization: `Bearer ${edge.adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ title: "chat e2e" }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function connect(streamId: string, clientId = newClientId()): Promise<Client> {
  const socket = new WebSocket(`${edge.url.replace("http", "ws")}/api/streams/${streamId}/chat?cid=${clientId}`);
  const probe = new ChatProbe((frame) => socket.send(frame));
  socket.on("message", (data, isBinary) => probe.frame(isBinary ? data : data.toString()));
  socket.on("close", (code, reason) => probe.closed(code, reason.toString()));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { probe, socket, clientId };
}

async function join(streamId: string, nickname?: string, clientId?: string): Promise<Client> {
  const client = await connect(streamId, clientId);
  client.probe.send(nickname === undefined ? { type: "join" } : { type: "join", nickname });
  await client.probe.next("history");
  return client;
}

function moderate(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${edge.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${edge.adminToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("chat through the local Worker", () => {
  it("two clients chat, in order, and a later client gets the history", async () => {
    const id = await createStream();
    const alice = await join(id, "alice");
    const bob = await join(id, "bob");
    for (let i = 0; i < 5; i++) alice.probe.send({ type: "chat", text: `alice ${i}` });
    bob.probe.send({ type: "chat", text: "hi alice" });
    await alice.probe.until("6 messages", 10_000, () => (alice.probe.chats().length === 6 ? true : undefined));
    await bob.probe.until("6 messages", 10_000, () => (bob.probe.chats().length === 6 ? true : undefined));
    const texts = (c: Client) => c.probe.chats().map((m) => m.text);
    expect(texts(bob)).toEqual(texts(alice));
    expect(texts(bob).filter((t) => t.startsWith("alice"))).toEqual(["alice 0", "alice 1", "alice 2", "alice 3", "alice 4"]);

    const carol = await connect(id);
    carol.probe.send({ type: "join" });
    const history = await carol.probe.next("history");
    expect(history.messages.map((m) => m.text)).toEqual(texts(alice));
    expect((await carol.probe.next("presence")).viewers).toBe(3);
    for (const c of [alice, bob, carol]) c.socket.close();
  });

  it("aggregates reactions into one broadcast per window", async () => {
    const id = await createStream();
    const clients = await Promise.all([join(id), join(id), join(id)]);
    for (const c of clients) for (let i = 0; i < 10; i++) c.probe.send({ type: "reaction", emoji: "heart" });
    const total = await clients[0]!.probe.until("30 hearts", 10_000, () => {
      const sum = clients[0]!.probe.all("reactions").reduce((n, r) => n + (r.counts.heart ?? 0), 0);
      return sum === 30 ? sum : undefined;
    });
    expect(total).toBe(30);
    // 30 reactions sent within a few ms: one window, two at most if the burst straddled a boundary.
    expect(clients[0]!.probe.all("reactions").length).toBeLessThanOrEqual(2);
    for (const c of clients) c.socket.close();
  });

  it("rate-limits a flooding client, tells only that client, and closes it on repeated abuse", async () => {
    const id = await createStream();
    const flooder = await join(id, "flooder");
    const watcher = await join(id, "watcher");
    for (let i = 0; i < 7; i++) flooder.probe.send({ type: "chat", text: `flood ${i}` });
    await flooder.probe.until("2 errors", 10_000, () => (flooder.probe.all("error").length === 2 ? true : undefined));
    expect(flooder.probe.all("error").map((e) => e.code)).toEqual(["rate_limited", "rate_limited"]);
    flooder.probe.send("not json");
    expect((await flooder.probe.next("error")).code).toBe("rate_limited");
    expect((await flooder.probe.next("error")).code).toBe("rate_limited");
    expect((await flooder.probe.next("error")).code).toBe("invalid_json");
    for (let i = 0; i < 8; i++) flooder.probe.send("{");
    expect((await flooder.probe.waitForClose(10_000)).code).toBe(1008);
    await watcher.probe.until("5 messages", 10_000, () => (watcher.probe.chats().length === 5 ? true : undefined));
    expect(watcher.probe.all("error")).toHaveLength(0);
    watcher.socket.close();
  });

  it("deletes a message everywhere and bans a viewer", async () => {
    const id = await createStream();
    const troll = await join(id, "troll");
    const fan = await join(id, "fan");
    troll.probe.send({ type: "chat", text: "something rude" });
    const rude = (await fan.probe.nextChat());

    expect((await moderate("DELETE", `/api/streams/${id}/chat/messages/${rude.id}`)).status).toBe(204);
    expect((await fan.probe.next("message_deleted")).id).toBe(rude.id);
    expect((await troll.probe.next("message_deleted")).id).toBe(rude.id);

    const userId = await userIdFor(troll.clientId);
    expect(rude.userId).toBe(userId);
    expect((await moderate("POST", `/api/streams/${id}/chat/bans`, { userId })).status).toBe(204);
    expect((await troll.probe.next("error")).code).toBe("banned");
    expect((await troll.probe.waitForClose()).code).toBe(CLOSE_BANNED);
    expect((await fan.probe.next("user_banned")).userId).toBe(userId);

    const again = await connect(id, troll.clientId);
    expect((await again.probe.next("error")).code).toBe("banned");
    expect((await again.probe.waitForClose()).code).toBe(CLOSE_BANNED);

    const late = await connect(id);
    late.probe.send({ type: "join" });
    expect((await late.probe.next("history")).messages).toEqual([]);
    for (const c of [fan, late]) c.socket.close();
  });

  it("keeps working after the room has been idle long enough to hibernate", async () => {
    const id = await createStream();
    const a = await join(id, "a");
    const b = await join(id, "b");
    await new Promise((r) => setTimeout(r, 15_000));
    const viewers = await fetch(`${edge.url}/api/streams/${id}/viewers`).then((r) => r.json());
    expect(viewers).toEqual({ streamId: id, viewers: 2 });
    // The streams API (and through it the home page) reads the same count from the room.
    const info = (await fetch(`${edge.url}/api/streams/${id}`).then((r) => r.json())) as { viewers: number };
    expect(info.viewers).toBe(2);
    a.probe.send({ type: "chat", text: "still there?" });
    expect((await b.probe.nextChat()).text).toBe("still there?");
    for (const c of [a, b]) c.socket.close();
  }, 60_000);
});
