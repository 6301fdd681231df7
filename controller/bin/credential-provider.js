#!/usr/bin/env node
// Runs the TypeScript entry point through tsx (Node 20 can't strip types itself).
import { register } from "tsx/esm/api";

register();
await import("../src/credential-provider/main.ts");
