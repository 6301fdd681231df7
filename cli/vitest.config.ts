import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
    // Local D1 tests start workerd through Miniflare, and a few run wrangler itself.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
