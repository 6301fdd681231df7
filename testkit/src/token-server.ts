/**
 * The token server, ready for a registry to point at, in one call: a fresh
 * signing key and certificate (the CLI's `generateSigningMaterial`, what
 * `keys generate` writes), the given providers applied to a migrated local D1
 * (`cli policy apply --local`), and the Worker under `wrangler dev` — all in
 * one temp dir private to this instance.
 */
import { writeFileSync } from "node:fs";
import { generateSigningMaterial } from "@jwt-registry-auth/cli/keys/material";
import { join } from "node:path";
import { runCli } from "./cli.ts";
import { waitUntil } from "./process.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";
import { startWrangler } from "./wrangler.ts";
import type { TokenRequestLog } from "@jwt-registry-auth/worker/log";

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
  /**
   * The token-request lines once `settled` holds for them (or after `timeoutMs`):
   * wrangler passes the Worker's lines on asynchronously, so the line of a
   * client's last request can trail the client's exit.
   */
  tokenRequestsWhen(settled: (lines: TokenRequestLogLine[]) => boolean, timeoutMs?: number): Promise<TokenRequestLogLine[]>;
  stop(): Promise<void>;
}

const CONFIG = "wrangler.toml";

/** A `token_request` log line of the Worker, as worker/src/log.ts writes it. */
export type TokenRequestLogLine = TokenRequestLog & { readonly event: "token_request" };

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
  let applied = 0;
  const applyProviders = async (yaml: string): Promise<void> => {
    const file = join(dir, `providers-${++applied}.yaml`);
    writeFileSync(file, yaml);
    await runCli(["policy", "apply", file, "--local", "--persist-to", persistTo, "--yes"]);
  };
  const tokenIssuer = options.tokenIssuer ?? "jwt-registry-auth-e2e";
  const certPath = join(dir, "signing-cert.pem");
  const jwksPath = join(dir, "jwks.json");
  const signing = await generateSigningMaterial({ subject: "jwt-registry-auth e2e" });
  writeFileSync(certPath, signing.certPem);
  writeFileSync(jwksPath, JSON.stringify(signing.jwks));
  // Both at once: the Worker touches D1 only when a token is requested, which
  // happens after this returns, so it never sees the database half-applied.
  // `policy apply --local` applies the migrations to the fresh state first.
  const [apply, started] = await Promise.allSettled([
    applyProviders(options.providersYaml),
    startWrangler({
      config: CONFIG,
      persistTo,
      ...(options.port !== undefined && { port: options.port }),
      vars: { TOKEN_ISSUER: tokenIssuer, ALLOW_HTTP_LOOPBACK_ISSUERS: "true", SIGNING_KEY: signing.keyPem, SIGNING_CERT: signing.certPem, ...options.vars },
    }),
  ]);
  if (apply.status === "rejected") {
    if (started.status === "fulfilled") await started.value.stop();
    removeDir(dir);
    throw apply.reason;
  }
  if (started.status === "rejected") {
    removeDir(dir);
    throw started.reason;
  }
  const worker = started.value;
  return {
    url: worker.url,
    realm: `${worker.url}/token`,
    tokenIssuer,
    certPath,
    jwksPath,
    persistTo,
    applyProviders,
    logs: () => worker.logs(),
    tokenRequests: () => parseTokenRequestLogs(worker.logs()),
    async tokenRequestsWhen(settled, timeoutMs = 10_000) {
      const lines = () => parseTokenRequestLogs(worker.logs());
      await waitUntil(async () => settled(lines()), { timeoutMs, what: "the token server's log line" }).catch(() => undefined);
      return lines();
    },
    async stop() {
      await worker.stop();
      removeDir(dir);
    },
  };
}
