import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The bundle tests spawn node processes on a busy 2-core machine.
    testTimeout: 30_000,
  },
});
