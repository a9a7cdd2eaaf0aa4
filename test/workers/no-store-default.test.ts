import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { noStoreByDefault } from "../../workers/middleware/no-store-default";

function appWith(handler: () => Response) {
  const app = new Hono();
  app.use("*", noStoreByDefault);
  app.get("/", handler);
  return app;
}

describe("noStoreByDefault", () => {
  it("marks answers without Cache-Control as no-store and keeps a route's own policy", async () => {
    expect((await appWith(() => new Response("x")).request("/")).headers.get("Cache-Control")).toBe("no-store");
    const own = appWith(() => new Response("x", { headers: { "Cache-Control": "public, max-age=2" } }));
    expect((await own.request("/")).headers.get("Cache-Control")).toBe("public, max-age=2");
  });

  it("hands a WebSocket upgrade through with its socket", async () => {
    const app = appWith(() => {
      const [client, server] = Object.values(new WebSocketPair());
      server!.accept();
      return new Response(null, { status: 101, webSocket: client });
    });
    const res = await app.request("/", { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(101);
    expect(res.webSocket).not.toBeNull();
  });
});
