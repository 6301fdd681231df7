import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLoad } from "./loadgen-run.ts";

let server: Server;
let url: string;
const seen: { auth: string | undefined; connections: Set<string> } = { auth: undefined, connections: new Set() };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.auth = req.headers.authorization;
    seen.connections.add(`${req.socket.remotePort}`);
    // 2 ms per request, so the run's figures are predictable; /fail answers 503.
    setTimeout(() => {
      res.writeHead(req.url === "/fail" ? 503 : 200, { "Content-Type": "text/plain" });
      res.end("ok");
    }, 2);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("runLoad", () => {
  it("keeps every connection busy for the duration, over keep-alive, and times every response", async () => {
    seen.connections.clear();
    const result = await runLoad({ url: `${url}/ok`, connections: 4, durationSeconds: 0.5, headers: { Authorization: "Bearer t" } });
    expect(seen.auth).toBe("Bearer t");
    expect(seen.connections.size).toBe(4);
    expect(result.statuses).toEqual({ 200: result.requests });
    expect(result.latenciesUs).toHaveLength(result.requests);
    // The server waits setTimeout(2): libuv's clock has 1 ms granularity, so that can end after just over 1 ms.
    expect(Math.min(...result.latenciesUs)).toBeGreaterThanOrEqual(1000);
    // 4 connections, ≥2 ms each: at most ~1000 in 0.5 s; several per connection even on a busy machine.
    expect(result.requests).toBeGreaterThan(20);
    expect(result.requests).toBeLessThanOrEqual(1100);
    expect(result.errors).toEqual({ connect: 0, socket: 0, timeout: 0, parse: 0 });
    expect(result.perSecond.reduce((a, b) => a + b, 0)).toBe(result.requests);
  });

  it("counts error statuses and refused connections instead of failing", async () => {
    const failing = await runLoad({ url: `${url}/fail`, connections: 1, durationSeconds: 0.2 });
    expect(failing.statuses["503"]).toBe(failing.requests);
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const refused = await runLoad({ url: `http://127.0.0.1:${closed}/`, connections: 1, durationSeconds: 0.2 });
    expect(refused.requests).toBe(0);
    expect(refused.errors.connect).toBeGreaterThan(0);
  });
});
