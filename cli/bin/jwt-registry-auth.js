#!/usr/bin/env node
// The installed `jwt-registry-auth` command: registers tsx's loader so the
// TypeScript sources run as they are (no build step), then runs the CLI.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
