/**
 * `npm run deploy` / `npm run deploy:proxy`: refuses to deploy a Worker whose
 * wrangler.toml still holds the placeholder ids the repository ships
 * (wrangler would upload it, and the Worker would fail at its first D1 or KV
 * call), then runs `wrangler deploy` with the remaining arguments
 * (`npm run deploy -- --dry-run` checks and bundles without uploading).
 *
 * Exit codes: 2 a placeholder id is left (named with file:line and the command
 * that prints the real id), otherwise wrangler's own.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The ids committed in wrangler.toml, and the command whose output replaces each. */
export const PLACEHOLDER_IDS: Readonly<Record<string, string>> = {
  "00000000000000000000000000000000": "npx wrangler kv namespace create JWKS_CACHE",
  "00000000-0000-0000-0000-000000000000": "npx wrangler d1 create jwt-registry-auth",
};

/** One message per placeholder id still in the file, naming file:line and how to get the real id. */
export function placeholderProblems(path: string, text: string): string[] {
  const problems: string[] = [];
  text.split("\n").forEach((line, i) => {
    const code = line.replace(/#.*$/, "");
    const match = /^\s*(id|database_id)\s*=\s*"([^"]*)"/.exec(code);
    if (!match) return;
    const [, key, value] = match as unknown as [string, string, string];
    const command = PLACEHOLDER_IDS[value];
    if (command !== undefined) problems.push(`${path}:${i + 1}: ${key} is still the placeholder "${value}"; put the id printed by \`${command}\` here`);
  });
  return problems;
}

function main(argv: string[]): number {
  const [config = "wrangler.toml", ...wranglerArgs] = argv;
  const path = resolve(config);
  const problems = placeholderProblems(relative(process.cwd(), path), readFileSync(path, "utf8"));
  if (problems.length > 0) {
    console.error(`deploy refused: ${problems.length === 1 ? "a placeholder id is" : "placeholder ids are"} left in ${relative(process.cwd(), path)}\n${problems.map((p) => `  ${p}`).join("\n")}`);
    return 2;
  }
  const run = spawnSync(process.execPath, [resolve(import.meta.dirname, "../node_modules/wrangler/bin/wrangler.js"), "deploy", "--config", path, ...wranglerArgs], { cwd: dirname(path), stdio: "inherit" });
  return run.status ?? 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exit(main(process.argv.slice(2)));
