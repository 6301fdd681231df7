/**
 * The token server, ready for a registry to point at, in one call: a fresh
 * signing key and certificate (`cli keys generate`), the given providers
 * applied to a migrated local D1 (`cli policy apply --local`), and the Worker under
 * `wrangler dev` — all in one temp dir private to this instance.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./cli.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";
import { startWrangler, type WranglerWorker } from "./wrangler.ts";

export interface TokenServerOptions {
  /** The providers config (YAML, the format `cli policy apply` loads). */
  readonly providersYaml: string;
  /** TOKEN_ISSUER, i.e. the registry's `auth.token.issuer` (default "jwt-registry-auth-e2e"). */
  readonly tokenIssuer?: string;
  /** More settings (TOKEN_TTL_SECONDS, ALLOWED_SERVICES, …); they win over the defaults set here. */
  readonly vars?: Readonly<Record<string, string>>;
  readonly port?: number;
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `${url}/token`: the registry's `auth.token.realm`. */
  readonly realm: string;
  readonly tokenIssuer: string;
  /** The signing certificate (PEM): the registry's `auth.token.rootcertbundle`. */
  readonly certPath: string;
  /** The public JWKS of the signing key, for registries configured with `auth.token.jwks`. */
  readonly jwksPath: string;
  /** The local D1/KV state directory (`--persist-to`). */
  readonly persistTo: string;
  /** Replaces the providers, as an operator's `policy apply` does while the server runs. */
  applyProviders(yaml: string): Promise<void>;
  /** wrangler's output: the Worker's one JSON line per request is in here. */
  logs(): string;
  /** The Worker's `token_request` log lines so far, parsed, oldest first. */
  tokenRequests(): TokenRequestLogLine[];
  stop(): Promise<void>;
}

const CONFIG = "wrangler.toml";

/** A `token_request` log line of the Worker (worker/src/log.ts); fields a test may look at. */
export interface TokenRequestLogLine {
  readonly event: "token_request";
  readonly status: number;
  readonly grant: string;
  readonly provider?: string;
  readonly subject?: string;
  readonly service?: string;
  readonly clientId?: string;
  readonly granted?: readonly string[];
  readonly refused?: readonly string[];
  readonly reason?: string;
  readonly tokenSha256?: string;
  readonly refreshIssued?: boolean;
}

/** Picks the Worker's token-request lines out of wrangler's output. */
export function parseTokenRequestLogs(output: string): TokenRequestLogLine[] {
  return output
    .split("\n")
    .map((line) => line.slice(line.indexOf("{")))
    .filter((line) => line.startsWith('{"event":"token_request"'))
    .map((line) => JSON.parse(line) as TokenRequestLogLine);
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const dir = makeTempDir("token-server");
  const persistTo = join(dir, "state");
  const keysDir = join(dir, "keys");
  let applied = 0;
  const applyProviders = async (yaml: string): Promise<void> => {
    const file = join(dir, `providers-${++applied}.yaml`);
    writeFileSync(file, yaml);
    await runCli(["policy", "apply", file, "--local", "--persist-to", persistTo]);
  };
  let worker: WranglerWorker | undefined;
  try {
    // `policy apply --local` applies the D1 migrations first when they are missing.
    // allSettled: on a failure, the other step must finish before the dir is removed.
    const steps = await Promise.allSettled([runCli(["keys", "generate", "--out", keysDir, "--subject", "jwt-registry-auth e2e"]), applyProviders(options.providersYaml)]);
    for (const step of steps) if (step.status === "rejected") throw step.reason;
    const certPath = join(keysDir, "signing-cert.pem");
    const tokenIssuer = options.tokenIssuer ?? "jwt-registry-auth-e2e";
    worker = await startWrangler({
      config: CONFIG,
      persistTo,
      ...(options.port !== undefined && { port: options.port }),
      vars: {
        TOKEN_ISSUER: tokenIssuer,
        ALLOW_HTTP_LOOPBACK_ISSUERS: "true",
        SIGNING_KEY: readFileSync(join(keysDir, "signing-key.pem"), "utf8"),
        SIGNING_CERT: readFileSync(certPath, "utf8"),
        ...options.vars,
      },
    });
    const running = worker;
    return {
      url: running.url,
      realm: `${running.url}/token`,
      tokenIssuer,
      certPath,
      jwksPath: join(keysDir, "jwks.json"),
      persistTo,
      applyProviders,
      logs: () => running.logs(),
      tokenRequests: () => parseTokenRequestLogs(running.logs()),
      async stop() {
        await running.stop();
        removeDir(dir);
      },
    };
  } catch (error) {
    await worker?.stop();
    removeDir(dir);
    throw error;
  }
}
