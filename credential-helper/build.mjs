// Bundles the credential helper into one self-contained ES module that needs
// nothing but Node ≥ 20: dist/docker-credential-jwt-registry-auth.mjs.
//   node build.mjs          writes it
//   node build.mjs --check  exits 1 if the committed file differs from a fresh build (CI)
import { build } from "esbuild";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import console from "node:console";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const outfile = join(root, "dist", "docker-credential-jwt-registry-auth.mjs");
const check = process.argv.includes("--check");

const result = await build({
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
  write: !check,
});

if (check) {
  const expected = result.outputFiles[0].text;
  let current;
  try {
    current = readFileSync(outfile, "utf8");
  } catch {
    current = undefined;
  }
  if (current !== expected) {
    console.error(`${outfile} ${current === undefined ? "is missing" : "differs from a fresh build"} (run \`npm run build -w credential-helper\` and commit it)`);
    process.exit(1);
  }
  console.log("dist/ matches a fresh build");
} else chmodSync(outfile, 0o755);
