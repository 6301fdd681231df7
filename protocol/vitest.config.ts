import { defineConfig } from "vitest/config";

// protocol/ has no bindings: its tests run in Node, and the same code runs in both Workers.
export default defineConfig({ test: { include: ["src/**/*.test.ts"] } });
