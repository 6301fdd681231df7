// Bundles the credential helper into one self-contained ES module that needs
// nothing but Node ≥ 20: dist/docker-credential-jwt-registry-auth.mjs (not
// committed: `npm run build -w credential-helper`; the bundle test builds it).
import { build } from "esbuild";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const outfile = process.argv[2] ?? join(root, "dist", "docker-credential-jwt-registry-auth.mjs");

await build({
  absWorkingDir: root,
  entryPoints: ["src/bin.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  banner: { js: "#!/usr/bin/env node" },
  legalComments: "none",
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
