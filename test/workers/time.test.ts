import { describe, expect, it } from "vitest";
import { DASH_TIME_PATH } from "../../workers/shared/layout";
import { call } from "./helpers";

/** The clock the live MPD's UTCTiming names (urn:mpeg:dash:utc:http-iso:2014): dash.js fetches it from the player's page. */
describe("GET /api/time (DASH_TIME_PATH)", () => {
  it("answers an ISO date, never cached, readable from another origin", async () => {
    const res = await call(DASH_TIME_PATH, { headers: { Origin: "https://player.example" } });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(new Date(body).toISOString()).toBe(body);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    // wrangler.toml allows any origin.
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});
