// Bundles the credential helper into one self-contained ES module that needs
// nothing but Node ≥ 20: dist/docker-credential-jwt-registry-auth.mjs (not
// committed: `npm run build -w credential-helper`; the bundle test builds it).
import { build } from "esbuild";
import { helperBuildOptions } from "./build-options.mjs";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const outfile = process.argv[2] ?? join(root, "dist", "docker-credential-jwt-registry-auth.mjs");

await build(helperBuildOptions(outfile));
chmodSync(outfile, 0o755);
