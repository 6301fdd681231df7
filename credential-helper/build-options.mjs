// The helper's esbuild options, in one place: its own build (build.mjs) and
// the Action's, which ships the same bundle in action/dist/, both use them.
import { fileURLToPath, URL } from "node:url";

/** @param {string} outfile @returns {import("esbuild").BuildOptions} */
export function helperBuildOptions(outfile) {
  return {
    absWorkingDir: fileURLToPath(new URL(".", import.meta.url)),
    entryPoints: ["src/bin.ts"],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
    logLevel: "warning",
  };
}
