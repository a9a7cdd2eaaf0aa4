import { defineConfig } from "vitest/config";

// Three tiers: pure unit tests in Node, Worker and Durable Object tests inside workerd, and end-to-end
// tests that start the real stack (workerd, ingest node, ffmpeg, Chromium).
export default defineConfig({
  test: {
    projects: [
      "test/workers/vitest.config.ts",
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // Each file starts its own stack with ffmpeg and workerd: on two cores, one file at a time.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
