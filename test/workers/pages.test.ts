import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { call, env, ORIGIN } from "./helpers";

/** What the assets layer holds for a page, whatever the web build put there. */
async function assetText(page: string): Promise<string> {
  return (await env.ASSETS.fetch(`${ORIGIN}/pages/${page}.html`)).text();
}

describe("pages", () => {
  it.each([
    ["/", "home"],
    ["/studio", "studio"],
    ["/watch/abcdefghijkl", "watch"],
    ["/embed/abcdefghijkl", "embed"],
  ])("serves %s from pages/%s.html, cacheable for a minute", async (path, page) => {
    const res = await call(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=60");
    expect(await res.text()).toBe(await assetText(page));
  });

  it("revalidates a page with its ETag", async () => {
    const first = await call("/watch/abcdefghijkl");
    const etag = first.headers.get("ETag");
    expect(etag).toBeTruthy();
    const again = await call("/watch/abcdefghijkl", { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
  });

  it.each(["/watch/ABCDEFGHIJKL", "/watch/short", "/embed/abcdefghijklm"])("answers %s with a JSON 404", async (path) => {
    const res = await call(path);
    expect(res.status).toBe(404);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await res.json()).toEqual({ error: "not a stream id: stream ids are 12 characters, a-z and 0-9" });
  });

  it("says how to fix a missing web build", async () => {
    const noAssets = { fetch: async () => new Response("not found", { status: 404 }) } as unknown as Fetcher;
    const res = await worker.fetch(new Request(`${ORIGIN}/studio`), { ...env, ASSETS: noAssets }, createExecutionContext());
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "web/dist/pages/studio.html is missing: build the web app with `npm run build:web`" });
  });
});

describe("health and errors", () => {
  it("answers /healthz", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await res.json()).toEqual({ ok: true });
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no route for GET /nope" });
  });

  it("turns an unexpected failure into an uncacheable JSON 500", async () => {
    const brokenRegistry = {
      getByName() {
        throw new Error("registry exploded");
      },
    } as unknown as typeof env.REGISTRY;
    const res = await worker.fetch(
      new Request(`${ORIGIN}/api/streams/abcdefghijkl`),
      { ...env, REGISTRY: brokenRegistry },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await res.json()).toEqual({ error: "internal error; retry, and report it if it persists" });
  });
});
