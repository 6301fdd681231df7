import { defineConfig } from "vitest/config";

// Unit tests of the bench harness (parsers, statistics, chart, load generator against a local server).
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
  },
});
