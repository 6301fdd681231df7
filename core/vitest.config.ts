import { defineConfig } from "vitest/config";

// core/ has no bindings and no I/O: its tests run in Node, and the same code runs in the token server.
export default defineConfig({ test: { include: ["src/**/*.test.ts"] } });
