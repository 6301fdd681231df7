/**
 * The registry auth proxy under `wrangler dev` for the e2e tests: started in
 * front of a real registry, reached through a relay that refuses TLS the way
 * Go's and Node's servers do, with its `proxy_request` log lines parsed.
 */
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { makeTempDir, removeDir, startWrangler, waitUntil, type Registry, type TokenServer, type WranglerWorker } from "@jwt-registry-auth/testkit";

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

/**
 * skopeo and docker try HTTPS first on an insecure registry and fall back to
 * HTTP when the server answers the TLS ClientHello with plain HTTP, as Go's and
 * Node's servers do at once. workerd under `wrangler dev` instead waits for
 * more bytes until the client's 10 s TLS timeout (skopeo then falls back;
 * docker gives up). This relay in front of the proxy's port answers a
 * ClientHello the way those servers do and otherwise passes the TCP stream
 * through untouched, so the proxy sees exactly the bytes the client sent.
 * It listens before it knows its target, so the proxy can be told its public
 * URL (the relay's) when it starts.
 */
async function startTlsRefusingRelay(): Promise<{ host: string; target(port: number): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let targetPort: number | undefined;
  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    client.once("data", (first: Buffer) => {
      if (first[0] === 0x16 || targetPort === undefined) {
        client.end("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
        return;
      }
      const upstream = connect(targetPort, "127.0.0.1");
      sockets.add(upstream);
      upstream.on("close", () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    target: (port) => {
      targetPort = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Proxy {
  readonly worker: WranglerWorker;
  /** What clients use: `127.0.0.1:PORT` of the relay in front of the proxy. */
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
  /** Set PUBLIC_URL to the relay's URL, as an operator sets it to the proxy's public address. */
  readonly publicUrl?: boolean;
}

export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const persistTo = makeTempDir("proxy-state");
  const relay = await startTlsRefusingRelay();
  let worker: WranglerWorker;
  try {
    worker = await startWrangler({
      config: "proxy-worker/wrangler.toml",
      persistTo,
      vars: {
        UPSTREAM_URL: options.upstream.url,
        TOKEN_REALM: options.tokenServer.realm,
        TOKEN_SERVICE: options.service,
        TOKEN_ISSUER: options.tokenServer.tokenIssuer,
        TOKEN_JWKS_URL: `${options.tokenServer.url}/.well-known/jwks.json`,
        ...(options.publicUrl === true && { PUBLIC_URL: `http://${relay.host}` }),
        ...(options.credentials && { UPSTREAM_USERNAME: options.credentials.username, UPSTREAM_PASSWORD: options.credentials.password }),
      },
    });
  } catch (error) {
    await relay.close();
    removeDir(persistTo);
    throw error;
  }
  relay.target(worker.port);
  return {
    worker,
    host: relay.host,
    url: `http://${relay.host}`,
    log: () => proxyLog(worker),
    async stop() {
      await relay.close();
      await worker.stop();
      removeDir(persistTo);
    },
  };
}
