import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { env, freshStreamId, ORIGIN, registeredStreamId } from "./helpers";

/** The Worker as deployed with ALLOWED_ORIGINS set to a list instead of "*". */
async function fetchWithOrigins(allowed: string, path: string, init?: RequestInit): Promise<Response> {
  return worker.fetch(new Request(`${ORIGIN}${path}`, init), { ...env, ALLOWED_ORIGINS: allowed }, createExecutionContext());
}

describe("CORS with a list of allowed origins", () => {
  const allowed = "https://a.example, https://b.example";

  it("echoes an allowed origin and marks the answer as varying by Origin", async () => {
    const key = `live/${await registeredStreamId()}/poster.jpg`;
    await env.MEDIA.put(key, new Uint8Array([0xff, 0xd8]));
    const res = await fetchWithOrigins(allowed, `/${key}`, { headers: { Origin: "https://b.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://b.example");
    expect(res.headers.get("Vary")).toBe("Origin");
  });

  it("gives other origins no Access-Control-Allow-Origin, on answers and preflights", async () => {
    const path = `/live/${freshStreamId()}/master.m3u8`;
    const res = await fetchWithOrigins(allowed, path, { headers: { Origin: "https://evil.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const preflight = await fetchWithOrigins(allowed, path, {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});
