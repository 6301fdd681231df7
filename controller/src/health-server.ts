/** `/healthz` (alive), `/readyz` (caches synced or standing by) and Prometheus `/metrics`. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";

export interface HealthChecks {
  readonly healthy: () => boolean;
  readonly ready: () => boolean;
  readonly metrics: () => string;
}

export interface HealthServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startHealthServer(listen: { host: string; port: number }, checks: HealthChecks): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const text = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed\n");
    switch (path) {
      case "/healthz":
        return checks.healthy() ? text(200, "ok\n") : text(503, "shutting down\n");
      case "/readyz":
        return checks.ready() ? text(200, "ok\n") : text(503, "not ready\n");
      case "/metrics":
        return text(200, checks.metrics(), METRICS_CONTENT_TYPE);
      default:
        return text(404, "not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    address: { host: address.address, port: address.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
