import { expect } from "vitest";
import { ChatProbe, newClientId } from "../helpers/chat-probe";
import { call } from "./helpers";

export interface TestClient {
  probe: ChatProbe;
  socket: WebSocket;
  clientId: string;
}

/** Opens a chat socket through the Worker's route, exactly as a browser would, and wires a probe to it. */
export async function openChat(streamId: string, clientId = newClientId(), query = ""): Promise<TestClient> {
  const res = await call(`/api/streams/${streamId}/chat?cid=${encodeURIComponent(clientId)}${query}`, { headers: { Upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const socket = res.webSocket!;
  const probe = new ChatProbe((frame) => socket.send(frame));
  socket.addEventListener("message", (event) => probe.frame(event.data));
  socket.addEventListener("close", (event) => probe.closed(event.code, event.reason));
  socket.accept();
  return { probe, socket, clientId };
}

/** Opens a socket and joins, returning once the room has sent history, presence and slow mode. */
export async function joinChat(streamId: string, nickname?: string, clientId?: string): Promise<TestClient> {
  const client = await openChat(streamId, clientId);
  client.probe.send(nickname === undefined ? { type: "join" } : { type: "join", nickname });
  await client.probe.next("history");
  await client.probe.next("slow_mode");
  return client;
}

export function authHeaders(token: string, json = false): Record<string, string> {
  return { Authorization: `Bearer ${token}`, ...(json ? { "Content-Type": "application/json" } : {}) };
}
