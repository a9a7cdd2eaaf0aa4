import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";

// Runs the Worker and its Durable Objects inside workerd, with the bindings of the real wrangler.toml.
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../../wrangler.toml" },
      miniflare: {
        bindings: { ADMIN_TOKEN: "test-admin-token", INGEST_SECRET: "test-ingest-secret", PLAYBACK_SIGNING_KEY: "test-playback-signing-key" },
      },
    }),
  ],
  test: {
    name: "workers",
    include: ["**/*.test.ts"],
    // The first request of a file cold-starts the Worker in workerd: seconds on a loaded 2-core machine.
    testTimeout: 15_000,
  },
});
