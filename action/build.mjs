// Bundles the Action into dist/: one self-contained ES module per step, run by
// the runner with plain `node` and nothing installed, and the credential helper
// (dist/docker-credential-jwt-registry-auth, `#!/usr/bin/env node`, mode 0755)
// that `credential-helper: true` installs for later steps.
//   node build.mjs          writes dist/
//   node build.mjs --check  exits 1 if dist/ differs from a fresh build (CI)
import { build } from "esbuild";
import { helperBuildOptions } from "../credential-helper/build-options.mjs";
import { chmodSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import console from "node:console";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const outdir = join(root, "dist");
const check = process.argv.includes("--check");

const HELPER = join(outdir, "docker-credential-jwt-registry-auth");

const action = await build({
  absWorkingDir: root,
  entryPoints: { main: "src/main.ts", post: "src/post.ts" },
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  // The runner uses node24; node20 keeps the bundle runnable where the tests run.
  target: "node20",
  format: "esm",
  legalComments: "none",
  logLevel: "warning",
  write: !check,
});

// The same bundle as credential-helper/build.mjs makes, under the name clients run.
const helper = await build({ ...helperBuildOptions(HELPER), write: !check });
if (!check) chmodSync(HELPER, 0o755);

if (check) {
  const expected = new Map([...action.outputFiles, ...helper.outputFiles].map((file) => [file.path, file.text]));
  let committed = [];
  try {
    committed = readdirSync(outdir).map((name) => join(outdir, name));
  } catch {
    // no dist/ at all: every expected file is reported missing below
  }
  const problems = [];
  for (const [path, text] of expected) {
    let current;
    try {
      current = readFileSync(path, "utf8");
    } catch {
      problems.push(`missing ${path}`);
      continue;
    }
    if (current !== text) problems.push(`stale ${path}`);
  }
  for (const path of committed) if (!expected.has(path)) problems.push(`unexpected ${path}`);
  try {
    // Exactly 0755 after a build; a checkout under another umask may differ in the group/other write bits.
    if ((statSync(HELPER).mode & 0o111) !== 0o111) problems.push(`${HELPER} is not executable (commit it with mode 0755)`);
  } catch {
    // reported missing above
  }
  if (problems.length > 0) {
    console.error(`dist/ differs from a fresh build (run \`npm run build -w action\` and commit dist/):\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log("dist/ matches a fresh build");
}
