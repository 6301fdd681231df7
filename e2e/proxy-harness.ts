/**
 * The registry auth proxy under `wrangler dev` for the e2e tests: started in
 * front of a real registry, reached by clients exactly as `npm run start:proxy`
 * is (the front of testkit's startWrangler), with its `proxy_request` log lines parsed.
 */
import { freePort, makeTempDir, removeDir, startWrangler, waitUntil, type Registry, type TokenServer, type WranglerWorker } from "@jwt-registry-auth/testkit";

/** A `proxy_request` log line of the proxy Worker (proxy-worker/src/log.ts). */
export interface ProxyLogLine {
  readonly method: string;
  readonly endpoint?: string;
  readonly repository?: string;
  readonly mountFrom?: string;
  readonly status: number;
  readonly reason?: string;
}

export function proxyLog(proxy: WranglerWorker): ProxyLogLine[] {
  return proxy
    .logs()
    .split("\n")
    .map((line) => line.slice(line.indexOf("{")))
    .filter((line) => line.startsWith('{"event":"proxy_request"'))
    .map((line) => JSON.parse(line) as ProxyLogLine);
}

/**
 * The proxy's log once `settled` holds for it (or after 10 s): wrangler passes
 * the Worker's log lines on asynchronously, so the line of a client's last
 * request can trail the client's exit.
 */
export async function logWhen(proxy: { log(): ProxyLogLine[] }, settled: (lines: ProxyLogLine[]) => boolean): Promise<ProxyLogLine[]> {
  await waitUntil(async () => settled(proxy.log()), { timeoutMs: 10_000, what: "the proxy's log line" }).catch(() => undefined);
  return proxy.log();
}

export interface Proxy {
  readonly worker: WranglerWorker;
  /** What clients use: `127.0.0.1:PORT`. */
  readonly host: string;
  readonly url: string;
  log(): ProxyLogLine[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  readonly upstream: Registry;
  readonly tokenServer: TokenServer;
  /** TOKEN_SERVICE: what clients ask the token server for. */
  readonly service: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Set PUBLIC_URL to the proxy's URL, as an operator sets it to the proxy's public address. */
  readonly publicUrl?: boolean;
  /** More settings (e.g. UPSTREAM_AUTH and a mode's own); `port` is the proxy's, chosen before it starts. */
  readonly vars?: (port: number) => Record<string, string>;
}

export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const persistTo = makeTempDir("proxy-state");
  // Chosen first, so the proxy can be told its public URL when it starts.
  const port = await freePort();
  let worker: WranglerWorker;
  try {
    worker = await startWrangler({
      config: "proxy-worker/wrangler.toml",
      persistTo,
      port,
      vars: {
        UPSTREAM_URL: options.upstream.url,
        TOKEN_REALM: options.tokenServer.realm,
        TOKEN_SERVICE: options.service,
        TOKEN_ISSUER: options.tokenServer.tokenIssuer,
        TOKEN_JWKS_URL: `${options.tokenServer.url}/.well-known/jwks.json`,
        ...(options.publicUrl === true && { PUBLIC_URL: `http://127.0.0.1:${port}` }),
        ...(options.credentials && { UPSTREAM_USERNAME: options.credentials.username, UPSTREAM_PASSWORD: options.credentials.password }),
        ...options.vars?.(port),
      },
    });
  } catch (error) {
    removeDir(persistTo);
    throw error;
  }
  return {
    worker,
    host: `127.0.0.1:${worker.port}`,
    url: worker.url,
    log: () => proxyLog(worker),
    async stop() {
      await worker.stop();
      removeDir(persistTo);
    },
  };
}
