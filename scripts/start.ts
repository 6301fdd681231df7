/**
 * `npm start`: the token server on http://127.0.0.1:8787 (PORT overrides) with
 * working defaults on a fresh checkout:
 *   1. a development signing key + certificate (dev-keys/, .dev.vars) on first run;
 *   2. the D1 migrations applied to the local database;
 *   3. examples/providers.yaml applied when no provider exists yet;
 *   4. `wrangler dev` on local D1/KV (.wrangler/state), until Ctrl-C, behind the
 *      front that lets docker and skopeo reach it directly (wrangler-dev-front.ts).
 * The CLI does steps 1 and 3, exactly as an operator would run it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runWranglerDevBehindFront } from "./wrangler-dev-front.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = process.env["PORT"] ?? "8787";
if (!/^\d+$/.test(port)) {
  console.error(`npm start: PORT must be a number, got ${JSON.stringify(port)}`);
  process.exit(2);
}
const wrangler = ["node_modules/wrangler/bin/wrangler.js"];
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

function run(what: string, command: string, args: string[], capture = false): string {
  const result = spawnSync(command, args, { cwd: root, env, encoding: "utf8", stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit" });
  if (result.status !== 0) {
    if (capture) process.stderr.write(`${result.stdout}${result.stderr}`);
    console.error(`npm start: ${what} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  return result.stdout ?? "";
}

const cli = (args: string[], what: string) => run(what, process.execPath, ["--import", "tsx", "cli/src/main.ts", ...args]);

const devVars = `${root}.dev.vars`;
if (!existsSync(devVars) || !readFileSync(devVars, "utf8").includes("SIGNING_KEY=")) {
  console.log("First run: creating a development signing key (dev-keys/, .dev.vars)");
  cli(["keys", "generate", "--out", "dev-keys", "--force", "--subject", "jwt-registry-auth dev", "--dev-vars", ".dev.vars"], "creating the dev signing key");
  // Local issuers (a stand-in issuer on loopback) are allowed in development only.
  appendFileSync(devVars, '\n# Local development only: accept http:// issuers on loopback.\nALLOW_HTTP_LOOPBACK_ISSUERS="true"\n');
}

run("applying D1 migrations", process.execPath, [...wrangler, "d1", "migrations", "apply", "POLICY_DB", "--local"], true);

const count = run("reading providers", process.execPath, [...wrangler, "d1", "execute", "POLICY_DB", "--local", "--json", "--command", "SELECT count(*) AS n FROM providers"], true);
const providers = (JSON.parse(count) as { results: { n: number }[] }[])[0]?.results[0]?.n ?? 0;
if (providers === 0) {
  console.log("No providers yet: applying examples/providers.yaml");
  cli(["policy", "apply", "examples/providers.yaml", "--local", "--yes"], "applying examples/providers.yaml");
}

console.log(`Token server: http://127.0.0.1:${port}/token  (registry rootcertbundle: dev-keys/signing-cert.pem)`);
await runWranglerDevBehindFront({ root, port: Number(port), args: [], env, name: "npm start" });
