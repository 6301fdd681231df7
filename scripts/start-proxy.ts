/**
 * `npm run start:proxy`: the registry auth proxy on http://127.0.0.1:8788 (PORT
 * overrides) under `wrangler dev`, until Ctrl-C, behind the front that lets
 * docker and skopeo reach it directly (wrangler-dev-front.ts).
 *
 * Settings come from the environment, then `proxy-worker/.dev.vars`, then
 * defaults that fit `npm start` (the token server on 127.0.0.1:8787):
 *   UPSTREAM_URL     required, e.g. http://127.0.0.1:5000
 *   TOKEN_REALM      http://127.0.0.1:8787/token
 *   TOKEN_JWKS_URL   http://127.0.0.1:8787/.well-known/jwks.json (unless TOKEN_JWKS or TOKEN_CERTS is set)
 *   TOKEN_SERVICE    127.0.0.1:PORT (the name clients use for the proxy)
 *   TOKEN_ISSUER     proxy-worker/wrangler.toml's value (the token server's default)
 *   UPSTREAM_USERNAME / UPSTREAM_PASSWORD   optional
 *   PUBLIC_URL, UPSTREAM_ALLOW_INSECURE_REALM, UPSTREAM_ALLOW_INSECURE_REDIRECTS   optional (docs/proxy.md)
 * Only these names are passed to the Worker, through a private env file (never argv).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SETTING_NAMES } from "@jwt-registry-auth/proxy-worker/setting-names";
import { runWranglerDevBehindFront } from "./wrangler-dev-front.ts";

// The binding is wrangler.toml's to make, not the shell's.
const SETTINGS = SETTING_NAMES.filter((name) => name !== "TOKEN_SERVER");

const root = fileURLToPath(new URL("..", import.meta.url));
const port = process.env["PORT"] ?? "8788";
const devVarsPath = join(root, "proxy-worker", ".dev.vars");
const devVars = existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : "";
const inDevVars = (name: string): boolean => new RegExp(`^\\s*${name}\\s*=`, "m").test(devVars);
const fromEnv = (name: string): string | undefined => (process.env[name] ?? "") === "" ? undefined : process.env[name];
const isSet = (name: string): boolean => fromEnv(name) !== undefined || inDevVars(name);

if (!/^\d+$/.test(port)) {
  console.error(`start:proxy: PORT must be a number, got ${JSON.stringify(port)}`);
  process.exit(2);
}
if (!isSet("UPSTREAM_URL")) {
  console.error("start:proxy: set UPSTREAM_URL (the registry to front, e.g. UPSTREAM_URL=http://127.0.0.1:5000) in the environment or proxy-worker/.dev.vars");
  process.exit(2);
}

const defaults: Record<string, string> = {
  TOKEN_REALM: "http://127.0.0.1:8787/token",
  TOKEN_SERVICE: `127.0.0.1:${port}`,
  ...(!isSet("TOKEN_JWKS") && !isSet("TOKEN_CERTS") && { TOKEN_JWKS_URL: "http://127.0.0.1:8787/.well-known/jwks.json" }),
};

/** dotenv quoting: single quotes keep a value literal (JSON, PEM); double quotes if it holds a single quote. */
function dotenvLine(name: string, value: string): string {
  if (!value.includes("'")) return `${name}='${value}'`;
  if (!value.includes('"') && !value.includes("\\")) return `${name}="${value}"`;
  console.error(`start:proxy: ${name} holds both quote kinds; put it in proxy-worker/.dev.vars instead`);
  process.exit(2);
}

const lines: string[] = [];
for (const name of SETTINGS) {
  const value = fromEnv(name) ?? (inDevVars(name) ? undefined : defaults[name]);
  if (value !== undefined) lines.push(dotenvLine(name, value));
}

const dir = mkdtempSync(join(tmpdir(), "jra-start-proxy-"));
const envFile = join(dir, "settings.env");
writeFileSync(envFile, `${lines.join("\n")}\n`, { mode: 0o600 });

const args = [
  "--config",
  "proxy-worker/wrangler.toml",
  // With --env-file wrangler skips .dev.vars, so it is passed first and the file above wins over it.
  ...(devVars !== "" ? ["--env-file", devVarsPath] : []),
  "--env-file",
  envFile,
];
console.log(`Registry auth proxy: http://127.0.0.1:${port}  (service ${fromEnv("TOKEN_SERVICE") ?? (inDevVars("TOKEN_SERVICE") ? "from proxy-worker/.dev.vars" : defaults["TOKEN_SERVICE"])})`);
await runWranglerDevBehindFront({
  root,
  port: Number(port),
  args,
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
  name: "start:proxy",
  onExit: () => rmSync(dir, { recursive: true, force: true }),
});
