// Bundles the entry points into dist/ (self-contained ES modules, run with
// plain `node`, nothing else installed): what the container image ships.
//   node controller/build.mjs [--outdir DIR]
import { build } from "esbuild";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const flag = process.argv.indexOf("--outdir");
const outdir = flag >= 0 ? process.argv[flag + 1] : `${root}dist`;

await build({
  absWorkingDir: root,
  entryPoints: {
    controller: "src/main.ts",
    "credential-provider": "src/credential-provider/main.ts",
    // Copies the image's runtime and the credential-provider bundle beside it onto a node (deploy/node-installer/).
    "install-node": "src/node-installer/main.ts",
  },
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  // The oldest Node LTS still supported (the image runs Node 24, see Dockerfile;
  // the node installer copies that runtime onto nodes).
  target: "node22",
  format: "esm",
  // client-node's CommonJS dependencies call require().
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  legalComments: "none",
  logLevel: "warning",
});
